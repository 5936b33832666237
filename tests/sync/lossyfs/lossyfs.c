/* lossyfs: an LD_PRELOAD shim that lets a test cut the power (LazyFS in miniature).
 *
 * For every file under the directory named by LOSSYFS_DIR, each call that changes the file
 * (write, pwrite, pwrite64, ftruncate, ftruncate64) first appends to an undo log in
 * LOSSYFS_LOG the bytes it is about to overwrite and the file's size before the call.
 * fsync / fdatasync on the file forget its undo log: what was fsynced is durable.
 * After a SIGKILL, lossyfs.power_cut() (Python) plays the undo logs backwards, so every
 * write that was never fsynced is lost: the worst a power cut can do to file contents.
 *
 * The unix VFS of the SQLite bundled with pysqlite3 imports exactly pwrite64, write,
 * ftruncate64 and fsync for file changes (nm -D on _sqlite3*.so; mmap_size is 0, so no page
 * is written through a mapping; the -shm index is mapped but SQLite rebuilds it on recovery).
 *
 * Undo record: kind (1 byte, 'W' or 'T'), offset (int64), size before (int64),
 * n (int64), n old bytes. Undo = write the old bytes back at offset, truncate to size before.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static char watch_dir[4096];
static size_t watch_len;
static char log_dir[4096];
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

__attribute__((constructor)) static void lossyfs_init(void) {
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    const char *dir = getenv("LOSSYFS_DIR");
    const char *logs = getenv("LOSSYFS_LOG");
    if (dir && logs && realpath(dir, watch_dir) && realpath(logs, log_dir)) {
        watch_len = strlen(watch_dir);
    } else {
        watch_len = 0; /* not configured: the shim passes everything through */
    }
}

/* The file behind fd when it lies under the watched directory, else 0. */
static int tracked(int fd, char *path, size_t size) {
    if (!watch_len || fd < 0) return 0;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, size - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    return (size_t)n > watch_len && strncmp(path, watch_dir, watch_len) == 0 && path[watch_len] == '/';
}

static void log_name(const char *path, char *out, size_t size) {
    size_t k = (size_t)snprintf(out, size, "%s/", log_dir);
    for (const char *p = path; *p && k + 6 < size; p++) out[k++] = (*p == '/') ? '%' : *p;
    snprintf(out + k, size - k, ".undo");
}

static int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = real_write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Append one undo record: the old bytes of [offset, offset + len) that exist, and the size. */
static void record(const char *path, int fd, char kind, int64_t offset, int64_t len) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    int64_t old_size = st.st_size;
    int64_t n = 0;
    if (offset < old_size) n = (offset + len < old_size ? offset + len : old_size) - offset;
    char *old = NULL;
    if (n > 0) {
        old = malloc((size_t)n);
        int rfd = open(path, O_RDONLY | O_CLOEXEC);
        int64_t got = 0;
        if (old && rfd >= 0) {
            while (got < n) {
                ssize_t r = pread(rfd, old + got, (size_t)(n - got), offset + got);
                if (r <= 0) break;
                got += r;
            }
        }
        if (rfd >= 0) close(rfd);
        if (!old || got != n) {
            fprintf(stderr, "lossyfs: cannot read old bytes of %s\n", path);
            abort(); /* an undo log with a hole would lie about what a power cut loses */
        }
    }
    char name[8192];
    log_name(path, name, sizeof name);
    int lfd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (lfd < 0) {
        fprintf(stderr, "lossyfs: cannot open undo log %s\n", name);
        abort();
    }
    char head[25];
    head[0] = kind;
    memcpy(head + 1, &offset, 8);
    memcpy(head + 9, &old_size, 8);
    memcpy(head + 17, &n, 8);
    if (write_all(lfd, head, sizeof head) || (n > 0 && write_all(lfd, old, (size_t)n))) {
        fprintf(stderr, "lossyfs: cannot write undo log %s\n", name);
        abort();
    }
    close(lfd);
    free(old);
}

static void forget(const char *path) {
    char name[8192];
    log_name(path, name, sizeof name);
    unlink(name);
}

ssize_t write(int fd, const void *buf, size_t count) {
    char path[4096];
    if (!tracked(fd, path, sizeof path)) return real_write(fd, buf, count);
    pthread_mutex_lock(&lock);
    int64_t offset = lseek(fd, 0, SEEK_CUR);
    int flags = fcntl(fd, F_GETFL);
    struct stat st;
    if (flags >= 0 && (flags & O_APPEND) && fstat(fd, &st) == 0) offset = st.st_size;
    if (offset >= 0) record(path, fd, 'W', offset, (int64_t)count);
    ssize_t r = real_write(fd, buf, count);
    pthread_mutex_unlock(&lock);
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    char path[4096];
    if (!tracked(fd, path, sizeof path)) return real_pwrite(fd, buf, count, offset);
    pthread_mutex_lock(&lock);
    record(path, fd, 'W', offset, (int64_t)count);
    ssize_t r = real_pwrite(fd, buf, count, offset);
    pthread_mutex_unlock(&lock);
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset) {
    char path[4096];
    if (!tracked(fd, path, sizeof path)) return real_pwrite64(fd, buf, count, offset);
    pthread_mutex_lock(&lock);
    record(path, fd, 'W', offset, (int64_t)count);
    ssize_t r = real_pwrite64(fd, buf, count, offset);
    pthread_mutex_unlock(&lock);
    return r;
}

static void record_truncate(const char *path, int fd, int64_t length) {
    struct stat st;
    if (fstat(fd, &st) != 0) return;
    /* Shrinking loses [length, size): keep those bytes. Growing only needs the old size. */
    record(path, fd, 'T', length, st.st_size > length ? st.st_size - length : 0);
}

int ftruncate(int fd, off_t length) {
    char path[4096];
    if (!tracked(fd, path, sizeof path)) return real_ftruncate(fd, length);
    pthread_mutex_lock(&lock);
    record_truncate(path, fd, length);
    int r = real_ftruncate(fd, length);
    pthread_mutex_unlock(&lock);
    return r;
}

int ftruncate64(int fd, off64_t length) {
    char path[4096];
    if (!tracked(fd, path, sizeof path)) return real_ftruncate64(fd, length);
    pthread_mutex_lock(&lock);
    record_truncate(path, fd, length);
    int r = real_ftruncate64(fd, length);
    pthread_mutex_unlock(&lock);
    return r;
}

/* Durable from here: forget the undo entries only after the real fsync has returned. A kill
 * in between leaves them, so the restorer drops data whose fsync never returned: still a
 * possible power cut, and no caller was told the data was safe. */
static int sync_with(int (*fn)(int), int fd) {
    char path[4096];
    if (!tracked(fd, path, sizeof path)) return fn(fd);
    pthread_mutex_lock(&lock);
    int r = fn(fd);
    if (r == 0) forget(path);
    pthread_mutex_unlock(&lock);
    return r;
}

int fsync(int fd) { return sync_with(real_fsync, fd); }

int fdatasync(int fd) { return sync_with(real_fdatasync, fd); }
