/*
 * kiln's input observer: an LD_PRELOAD library that records what a compile
 * reads. Loaded into rustc and inherited by everything it runs (the linker
 * driver, collect2, ld), it appends one line per event to the file named by
 * KILN_TRACE_FILE:
 *
 *   R <path>   opened for reading
 *   W <path>   opened for writing or created
 *   A <path>   looked for and missing (ENOENT/ENOTDIR)
 *   E <name>   environment variable looked up (once per process)
 *   X <prog>   program executed (as given; bare names are resolved later)
 *
 * Each line is written with one write(2) on an O_APPEND descriptor, so lines
 * from threads and processes never interleave. Hooks never allocate and never
 * call interposed functions themselves.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

extern char **environ;

static int trace_fd = -2; /* -2: not opened yet, -1: disabled */
static __thread int in_hook = 0;

/* Looks NAME up in environ without calling getenv (which is hooked). */
static const char *raw_env(const char *name) {
    size_t n = strlen(name);
    if (!environ) return NULL;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    }
    return NULL;
}

static int get_fd(void) {
    int fd = __atomic_load_n(&trace_fd, __ATOMIC_ACQUIRE);
    if (fd != -2) return fd;
    const char *path = raw_env("KILN_TRACE_FILE");
    int nfd = -1;
    if (path && path[0] == '/') {
        nfd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (nfd < 0) nfd = -1;
    }
    int expected = -2;
    if (!__atomic_compare_exchange_n(&trace_fd, &expected, nfd, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (nfd >= 0) syscall(SYS_close, nfd);
        return expected;
    }
    return nfd;
}

/* After fork the child keeps the descriptor (same file, O_APPEND): fine. */

static size_t append(char *buf, size_t at, size_t cap, const char *s) {
    while (*s && at < cap) buf[at++] = *s++;
    return at;
}

static void emit(char kind, const char *dir, const char *path) {
    int fd = get_fd();
    if (fd < 0 || !path) return;
    char buf[4096];
    size_t cap = sizeof buf - 1, at = 0;
    buf[at++] = kind;
    buf[at++] = ' ';
    if (dir) {
        at = append(buf, at, cap, dir);
        if (at < cap) buf[at++] = '/';
    }
    at = append(buf, at, cap, path);
    if (at >= cap) return; /* too long: skip rather than split */
    for (size_t i = 2; i < at; i++) {
        if (buf[i] == '\n') return;
    }
    buf[at++] = '\n';
    syscall(SYS_write, fd, buf, at);
}

/* Emits PATH made absolute against DIRFD (AT_FDCWD: the working directory). */
static void emit_path(char kind, int dirfd, const char *path) {
    if (!path || !path[0]) return;
    if (path[0] == '/') {
        emit(kind, NULL, path);
        return;
    }
    char dir[4096];
    if (dirfd == AT_FDCWD) {
        long n = syscall(SYS_getcwd, dir, sizeof dir);
        if (n <= 0) return;
    } else {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
        ssize_t n = (ssize_t)syscall(SYS_readlinkat, AT_FDCWD, link, dir, sizeof dir - 1);
        if (n <= 0) return;
        dir[n] = 0;
    }
    if (strcmp(dir, "/") == 0) dir[0] = 0;
    emit(kind, dir, path);
}

static void note_open(int dirfd, const char *path, int flags, int result, int err) {
    if (in_hook) return;
    in_hook = 1;
    int writes = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
    if (result >= 0) {
        emit_path(writes ? 'W' : 'R', dirfd, path);
    } else if (!writes && (err == ENOENT || err == ENOTDIR)) {
        emit_path('A', dirfd, path);
    }
    in_hook = 0;
}

static int fopen_flags(const char *mode) {
    if (!mode) return 0;
    if (strchr(mode, 'w') || strchr(mode, 'a')) return O_WRONLY | O_CREAT;
    if (strchr(mode, '+')) return O_RDWR;
    return O_RDONLY;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);

#define REAL(name, type) \
    static type real_##name; \
    if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

static int mode_arg(int flags, va_list ap) {
    if (flags & O_CREAT || (flags & O_TMPFILE) == O_TMPFILE) return va_arg(ap, int);
    return 0;
}

#define OPEN_HOOK(name)                                                   \
    int name(const char *path, int flags, ...) {                          \
        va_list ap;                                                       \
        va_start(ap, flags);                                              \
        int mode = mode_arg(flags, ap);                                   \
        va_end(ap);                                                       \
        REAL(name, open_fn);                         \
        if (!real_##name) { errno = ENOSYS; return -1; }                  \
        int r = real_##name(path, flags, mode);                           \
        int e = errno;                                                    \
        note_open(AT_FDCWD, path, flags, r, e);                           \
        errno = e;                                                        \
        return r;                                                         \
    }

#define OPENAT_HOOK(name)                                                 \
    int name(int dirfd, const char *path, int flags, ...) {               \
        va_list ap;                                                       \
        va_start(ap, flags);                                              \
        int mode = mode_arg(flags, ap);                                   \
        va_end(ap);                                                       \
        REAL(name, openat_fn);                         \
        if (!real_##name) { errno = ENOSYS; return -1; }                  \
        int r = real_##name(dirfd, path, flags, mode);                    \
        int e = errno;                                                    \
        note_open(dirfd, path, flags, r, e);                              \
        errno = e;                                                        \
        return r;                                                         \
    }

OPEN_HOOK(open)
OPEN_HOOK(open64)
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)

#define OPEN2_HOOK(name)                                                  \
    int name(const char *path, int flags) {                               \
        REAL(name, open2_fn);                              \
        if (!real_##name) { errno = ENOSYS; return -1; }                  \
        int r = real_##name(path, flags);                                 \
        int e = errno;                                                    \
        note_open(AT_FDCWD, path, flags, r, e);                           \
        errno = e;                                                        \
        return r;                                                         \
    }

OPEN2_HOOK(__open_2)
OPEN2_HOOK(__open64_2)

#define OPENAT2_HOOK(name)                                                \
    int name(int dirfd, const char *path, int flags) {                    \
        REAL(name, openat2_fn);                         \
        if (!real_##name) { errno = ENOSYS; return -1; }                  \
        int r = real_##name(dirfd, path, flags);                          \
        int e = errno;                                                    \
        note_open(dirfd, path, flags, r, e);                              \
        errno = e;                                                        \
        return r;                                                         \
    }

OPENAT2_HOOK(__openat_2)
OPENAT2_HOOK(__openat64_2)

#define FOPEN_HOOK(name)                                                  \
    FILE *name(const char *path, const char *mode) {                      \
        REAL(name, fopen_fn);                       \
        if (!real_##name) { errno = ENOSYS; return NULL; }                \
        FILE *f = real_##name(path, mode);                                \
        int e = errno;                                                    \
        note_open(AT_FDCWD, path, fopen_flags(mode), f ? 0 : -1, e);      \
        errno = e;                                                        \
        return f;                                                         \
    }

FOPEN_HOOK(fopen)
FOPEN_HOOK(fopen64)

/* Environment lookups, logged once per name per process. */
#define SEEN_SLOTS 1024
static uint64_t seen[SEEN_SLOTS];

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    while (*s) { h ^= (unsigned char)*s++; h *= 1099511628211ULL; }
    return h ? h : 1;
}

static void note_env(const char *name) {
    if (in_hook || !name) return;
    in_hook = 1;
    uint64_t h = name_hash(name);
    for (unsigned i = 0; i < SEEN_SLOTS; i++) {
        unsigned slot = (unsigned)((h + i) % SEEN_SLOTS);
        uint64_t cur = __atomic_load_n(&seen[slot], __ATOMIC_ACQUIRE);
        if (cur == h) break;
        if (cur == 0) {
            uint64_t zero = 0;
            if (__atomic_compare_exchange_n(&seen[slot], &zero, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                emit('E', NULL, name);
                break;
            }
            if (zero == h) break;
        }
    }
    in_hook = 0;
}

char *getenv(const char *name) {
    note_env(name);
    return (char *)raw_env(name);
}

char *secure_getenv(const char *name) {
    note_env(name);
    return (char *)raw_env(name);
}

/* Programs run. */
static void note_exec(const char *prog) {
    if (in_hook || !prog) return;
    in_hook = 1;
    if (strchr(prog, '/')) emit_path('X', AT_FDCWD, prog);
    else emit('X', NULL, prog);
    in_hook = 0;
}

int execve(const char *path, char *const argv[], char *const envp[]) {
    REAL(execve, execve_fn);
    note_exec(path);
    return real_execve(path, argv, envp);
}

int execv(const char *path, char *const argv[]) {
    REAL(execv, execv_fn);
    note_exec(path);
    return real_execv(path, argv);
}

int execvp(const char *file, char *const argv[]) {
    REAL(execvp, execv_fn);
    note_exec(file);
    return real_execvp(file, argv);
}

int execvpe(const char *file, char *const argv[], char *const envp[]) {
    REAL(execvpe, execve_fn);
    note_exec(file);
    return real_execvpe(file, argv, envp);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    REAL(posix_spawn, spawn_fn);
    note_exec(path);
    return real_posix_spawn(pid, path, fa, attr, argv, envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    REAL(posix_spawnp, spawn_fn);
    note_exec(file);
    return real_posix_spawnp(pid, file, fa, attr, argv, envp);
}
