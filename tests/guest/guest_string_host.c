/*
 * Compiles guest/lib/string.c for the host under guest_* names, so the
 * test can compare it with the C library without the two colliding.
 */
#define memchr guest_memchr
#define memcmp guest_memcmp
#define memcpy guest_memcpy
#define memmove guest_memmove
#define memset guest_memset
#define strchr guest_strchr
#define strrchr guest_strrchr
#define strlen guest_strlen
#define strnlen guest_strnlen
#define strtoul guest_strtoul
#define strcmp guest_strcmp
#define strncmp guest_strncmp
#include "../../guest/lib/string.c"
