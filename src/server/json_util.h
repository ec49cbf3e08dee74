/* json_util.h - small JSON helpers the server shares. */
#ifndef SEEK_SERVER_JSON_UTIL_H
#define SEEK_SERVER_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string of n bytes of text; bytes that are not valid UTF-8 become U+FFFD
 * (jansson refuses invalid UTF-8). Never NULL unless out of memory. */
json_t *srv_json_text(const char *s, size_t n);

#endif
