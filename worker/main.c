/*
 * main.c — the streamrec executable: git-style subcommands, one image for every
 * role (see DESIGN.md, "Processes and code").
 */
#include <stdio.h>
#include <string.h>

#include "sr_commands.h"
#include "version.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* A subcommand is listed here only once it works. */
static const struct command commands[] = {
    {"demo", "the whole pipeline on the embedded broker, end to end, in about a minute", sr_cmd_demo},
    {"worker", "consume events, step user states, publish recommendations", sr_cmd_worker},
    {"broker", "run an embedded Kafka-protocol broker for local use", sr_cmd_broker},
    {"replay", "produce a dataset file or a synthetic stream into the event topic", sr_cmd_replay},
    {"trainer", "train the model on the event history and publish it", sr_cmd_trainer},
    {"eval", "evaluate a model or a baseline offline on a dataset (leave-one-out)", sr_cmd_eval},
    {"tail", "read a topic and print its records as JSON lines", sr_cmd_tail},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: streamrec [--help] [--version] <command> [<args>]\n\n"
            "Real-time per-user recommendations as a Kafka stream processor.\n\n"
            "commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-8s  %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'streamrec <command> --help' describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return SR_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_usage(stdout);
        return SR_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("streamrec %s (%s)\n", STREAMREC_VERSION, STREAMREC_GIT_COMMIT);
        return SR_EXIT_OK;
    }
    /* "streamrec help replay" is "streamrec replay --help". */
    char help_flag[] = "--help";
    char *help_argv[] = {argv[0], argv[argc > 2 ? 2 : 1], help_flag, NULL};
    if (strcmp(name, "help") == 0 && argc >= 3) {
        name = argv[2];
        argv = help_argv;
        argc = 3;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);

    fprintf(stderr, "streamrec: '%s' is not a command; see 'streamrec --help'\n", name);
    return SR_EXIT_USAGE;
}
