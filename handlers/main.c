/*
 * main.c: the switchboard command line.
 *
 *   switchboard schema                      list every message
 *   switchboard schema diff OLD NEW         compatibility: every change, BREAKING or SAFE
 *   switchboard schema snapshot|compat [DIR]   version snapshots (generator/diff.lua)
 *   switchboard validate TARGET [FILE|-]    check one message, print it canonical
 *   switchboard validate --batch TARGET [FILE|-]   the same for each line of input
 *   switchboard serve [options]             run the server (handlers/serve.c)
 *   switchboard user add ...                add a user, print its token (handlers/admin.c)
 *   switchboard apikey add|list|revoke ...  operator API keys (handlers/apikey.c)
 *   switchboard realtime token|update ...   JWTs and updates for /realtime
 * (handlers/realtime_cli.c)
 *   switchboard therapy user|session add ...   people and therapy sessions
 * (handlers/therapy_cli.c)
 *   switchboard dashboard set|refresh|iframe|data|get|buttons|faq|chat|open ...
 *                                           the dashboard's operator API (handlers/dashboard_cli.c)
 *   switchboard gen ts DIR                  the TypeScript client package (handlers/gen_cli.c)
 *
 * Exit codes: 0 success, 1 invalid input, 2 usage error or unreadable input.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *to)
{
    fputs("usage: switchboard schema\n"
          "       switchboard schema diff OLD NEW\n"
          "         OLD, NEW: a folder of schema files, a snapshot .json or a git revision\n"
          "       switchboard schema snapshot [DIR]\n"
          "       switchboard schema compat [DIR]\n"
          "       switchboard validate [--batch] TARGET [FILE|-]\n"
          "         TARGET: a message NAME from `switchboard schema`, or CHANNEL:in / CHANNEL:out\n"
          "         --batch: a document per line, a verdict per line (ok CANONICAL | error: ...)\n"
          "       switchboard serve [--help | options]\n"
          "       switchboard user add --name NAME --role ROLE [--avatar URL] [--db PATH]\n"
          "       switchboard apikey add --name NAME [--db PATH]\n"
          "       switchboard apikey list [--db PATH]\n"
          "       switchboard apikey revoke --name NAME [--db PATH]\n"
          "       switchboard realtime token --user U --company C --session S [--ttl SEC] ...\n"
          "       switchboard realtime update --company C --action A [--data JSON] ...\n"
          "       switchboard therapy user add --phone P --last-name L --name N --role R ...\n"
          "       switchboard therapy session add --name N --date ISO --participants ID,ID ...\n"
          "       switchboard dashboard set|refresh|iframe|data|get|buttons|faq|chat|open --case "
          "ID ...\n"
          "       switchboard gen ts DIR\n",
          to);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "schema") == 0)
        return cli_schema(argc - 1, argv + 1);
    if (strcmp(argv[1], "validate") == 0)
        return cli_validate(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "user") == 0)
        return cli_user(argc - 1, argv + 1);
    if (strcmp(argv[1], "apikey") == 0)
        return cli_apikey(argc - 1, argv + 1);
    if (strcmp(argv[1], "realtime") == 0)
        return cli_realtime(argc - 1, argv + 1);
    if (strcmp(argv[1], "therapy") == 0)
        return cli_therapy(argc - 1, argv + 1);
    if (strcmp(argv[1], "dashboard") == 0)
        return cli_dashboard(argc - 1, argv + 1);
    if (strcmp(argv[1], "gen") == 0)
        return cli_gen(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "switchboard: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
