/* cli.h: the subcommands of the switchboard binary (main.c dispatches). */
#ifndef SB_CLI_H
#define SB_CLI_H

int cli_schema(int argc, char **argv);
int cli_validate(int argc, char **argv);
/* defined in handlers/: they compose the protocols */
int cli_serve(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_apikey(int argc, char **argv);
int cli_realtime(int argc, char **argv);  /* handlers/realtime_cli.c */
int cli_therapy(int argc, char **argv);   /* handlers/therapy_cli.c */
int cli_dashboard(int argc, char **argv); /* handlers/dashboard_cli.c */
int cli_gen(int argc, char **argv);       /* handlers/gen_cli.c */

#endif
