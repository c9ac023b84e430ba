/*
 * sr_commands.h — the subcommands of the one streamrec executable.
 *
 * Each takes the arguments after its name (argv[0] is the subcommand's name),
 * prints its own --help, and returns the process exit status: 0 on success,
 * 1 on a runtime failure, 2 on a usage or configuration error.
 */
#ifndef SR_COMMANDS_H
#define SR_COMMANDS_H

enum { SR_EXIT_OK = 0, SR_EXIT_FAILURE = 1, SR_EXIT_USAGE = 2 };

int sr_cmd_broker(int argc, char **argv);
int sr_cmd_replay(int argc, char **argv);
int sr_cmd_tail(int argc, char **argv);
int sr_cmd_trainer(int argc, char **argv);
int sr_cmd_eval(int argc, char **argv);
int sr_cmd_worker(int argc, char **argv);
int sr_cmd_demo(int argc, char **argv);

#endif
