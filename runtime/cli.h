/* cli.h: the subcommands of the switchboard binary (main.c dispatches). */
#ifndef SB_CLI_H
#define SB_CLI_H

int cli_schema(int argc, char **argv);
int cli_validate(int argc, char **argv);

#endif
