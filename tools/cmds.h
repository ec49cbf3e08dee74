/* cmds.h - the subcommands of the seek CLI. Each lives in tools/cmd_<name>.c,
 * takes the arguments after its name (argv[0] is the subcommand) and returns
 * the process exit status. Errors are printed with die()/cli_error(). */
#ifndef SEEK_CMDS_H
#define SEEK_CMDS_H

int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tokenizer_train(int argc, char **argv);

/* Print "seek: <msg>" to stderr; returns 1 (the exit status for errors). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "seek: <last library error>" to stderr; returns 1. */
int cli_lib_error(void);

#endif
