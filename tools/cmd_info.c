/* cmd_info.c - `seek info FILE`: what is inside a model file. */
#include "cmds.h"

int cmd_info(int argc, char **argv) {
    (void)argc; (void)argv;
    return cli_error("info: not implemented yet");
}
