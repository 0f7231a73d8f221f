/*
 * Opening the files vmm reads (guest images, config files): only regular
 * files, never blocking, with a bound on their size. A FIFO would block the
 * open (and the read) forever, /dev/zero would be read forever, a directory
 * reads as an empty file: each is refused up front with its own message, the
 * same on every host and inside the sandbox.
 */
#ifndef VMM_INFILE_H
#define VMM_INFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

/*
 * Opens path for reading.
 * Requires: path, err non-NULL; max_text names max_bytes for messages
 *   ("16 MiB").
 * Guarantees: on success returns a blocking descriptor (O_CLOEXEC) of a
 *   regular file of at most max_bytes bytes (at the time of the open), with
 *   its stat in *st when st is not NULL; never blocks in the open (a FIFO
 *   is opened O_NONBLOCK, then refused).
 * Fails (-1, err = "PATH: problem"): cannot be opened, is a directory, a
 *   FIFO, a device, a socket (named by kind), or is larger than max_bytes.
 */
int vmm_input_open(const char *path, uint64_t max_bytes, const char *max_text,
                   struct stat *st, char *err, size_t errlen);

/* vmm_input_open as a stdio stream ("r"); NULL with err on failure. */
FILE *vmm_open_regular(const char *path, uint64_t max_bytes, const char *max_text,
                       char *err, size_t errlen);

/* True if a and b (from stat) are the same file: same device and inode. */
bool vmm_same_file(const struct stat *a, const struct stat *b);

#endif /* VMM_INFILE_H */
