/*
 * kiln's input observer: an LD_PRELOAD library that records what a compile
 * reads. Preloaded into rustc and inherited by every program it runs (the
 * linker driver, collect2, ld), it appends one line per event to the file
 * named by KILN_TRACE_FILE:
 *
 *   R <path>   a file opened for reading only
 *   W <path>   a file opened with write intent, created, or renamed into place
 *   A <path>   a file looked for and missing (ENOENT/ENOTDIR on open, stat,
 *              access or opendir)
 *   E <name>\t<exe>  an environment variable looked up, and by which program
 *   X <prog>   a program executed, as given (bare names are resolved later)
 *   N <what>\t<exe>  a network connection or name lookup (`inet`, `unix`,
 *              `dns`), and by which program
 *
 * Paths are made absolute (against the working directory, or the directory
 * descriptor of *at calls) but otherwise kept as given: no symlink or `..`
 * resolution. Each process logs a given line at most once.
 *
 * Rules this file keeps:
 *   - Every line is written with one write(2) on an O_APPEND descriptor, so
 *     lines from threads and processes never interleave. Lines that would not
 *     fit the stack buffer, or paths holding a newline, are skipped.
 *   - The hooks never allocate, never use stdio, and never call interposed
 *     functions: the trace file is opened and written with raw system calls.
 *   - errno is what the real call left it as.
 *   - Without KILN_TRACE_FILE every hook only forwards.
 *   - A child whose environment lost LD_PRELOAD or KILN_TRACE_FILE (say
 *     `Command::env_clear`) gets them back, so nothing escapes observation.
 *   - With KILN_CC_LAUNCHER=<kiln> in the environment a program starts with,
 *     a C or C++ compile (`cc`, `gcc`, `clang++`, ... with `-c`) starts as
 *     `<kiln> __cc <program> <argv0> <args>` instead, which answers it from
 *     kiln's cache or runs it; kiln starts the real compiler without the
 *     variable.
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <netdb.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))

extern char **environ;

/* Longest record written; longer ones are skipped, never split. */
#define LINE_CAP 4000
/* Environments larger than this are passed on untouched. */
#define ENV_PATCH_MAX 8192

/* This thread is running the observer's own code (no nested logging). */
static THREAD_LOCAL int busy;
/* This thread is inside dlsym (hooks must not resolve symbols now). */
static THREAD_LOCAL int resolving;

/* ------------------------------------------------------------------------ */
/* Configuration, captured by the constructor before any thread exists.     */

static char trace_path[PATH_MAX];
static char trace_entry[sizeof "KILN_TRACE_FILE=" + PATH_MAX];
static char self_path[PATH_MAX];
/* This process's executable, for attributing lookups. */
static char self_exe[PATH_MAX];
static int configured;

static const char *env_scan(char *const *env, const char *name) {
    if (!env || !name) return NULL;
    size_t n = strlen(name);
    for (; *env; env++) {
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=') return *env + n + 1;
    }
    return NULL;
}

/* The trace file, or NULL when this process is not traced. */
static const char *trace_target(void) {
    if (__atomic_load_n(&configured, __ATOMIC_ACQUIRE)) return trace_path[0] ? trace_path : NULL;
    const char *p = env_scan(environ, "KILN_TRACE_FILE");
    return p && p[0] == '/' && strlen(p) < PATH_MAX ? p : NULL;
}

/* ------------------------------------------------------------------------ */
/* The trace descriptor.                                                    */

static int trace_fd = -1;
static uint64_t trace_dev, trace_ino;

/* Whether FD still is the trace file: a program may close descriptors it
 * does not know, and a vfork child may have replaced trace_fd with a
 * descriptor that only existed in the child. */
static int is_trace_fd(int fd) {
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) return 0;
    return (uint64_t)st.st_dev == __atomic_load_n(&trace_dev, __ATOMIC_ACQUIRE)
        && (uint64_t)st.st_ino == __atomic_load_n(&trace_ino, __ATOMIC_ACQUIRE);
}

static int open_trace(void) {
    const char *path = trace_target();
    if (!path) return -1;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    if (fd < 3) {
        /* Never occupy a standard stream the program closed. */
        int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3);
        syscall(SYS_close, fd);
        if (high < 0) return -1;
        fd = high;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        syscall(SYS_close, fd);
        return -1;
    }
    __atomic_store_n(&trace_dev, (uint64_t)st.st_dev, __ATOMIC_RELEASE);
    __atomic_store_n(&trace_ino, (uint64_t)st.st_ino, __ATOMIC_RELEASE);
    return fd;
}

/* The descriptor to write to; *owned is set when the caller must close it. */
static int trace_descriptor(int *owned) {
    *owned = 0;
    int fd = __atomic_load_n(&trace_fd, __ATOMIC_ACQUIRE);
    if (is_trace_fd(fd)) return fd;
    int fresh = open_trace();
    if (fresh < 0) return -1;
    if (__atomic_compare_exchange_n(&trace_fd, &fd, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return fresh;
    *owned = 1; /* another thread installed one meanwhile: use ours once */
    return fresh;
}

/* ------------------------------------------------------------------------ */
/* Records.                                                                 */

/* Hashes of the lines this process wrote (0 marks a free slot). */
#define SEEN_SLOTS 4096
#define SEEN_PROBES 64
static uint64_t seen[SEEN_SLOTS];

static uint64_t line_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

/* Whether the line is new to this process. A crowded table says yes: a
 * duplicate line costs little, a lost one costs a wrong cache hit. */
static int first_time(const char *line, size_t n) {
    uint64_t h = line_hash(line, n);
    for (unsigned i = 0; i < SEEN_PROBES; i++) {
        uint64_t *slot = &seen[(h + i) & (SEEN_SLOTS - 1)];
        uint64_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (cur == h) return 0;
        if (cur == 0) {
            if (__atomic_compare_exchange_n(slot, &cur, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 1;
            if (cur == h) return 0;
        }
    }
    return 1;
}

static size_t put_int(char *buf, int v) {
    char tmp[16];
    size_t n = 0, at = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) buf[at++] = '-';
    while (n) buf[at++] = tmp[--n];
    return at;
}

/* Writes the directory DIRFD stands for at buf; returns its length or 0. */
static size_t put_dir(char *buf, size_t room, int dirfd) {
    if (dirfd == AT_FDCWD) {
        long n = syscall(SYS_getcwd, buf, room);
        if (n <= 1 || buf[0] != '/') return 0; /* "(unreachable)" and failures */
        return (size_t)n - 1;
    }
    char link[32] = "/proc/self/fd/";
    size_t at = strlen(link);
    at += put_int(link + at, dirfd);
    link[at] = 0;
    long n = syscall(SYS_readlinkat, AT_FDCWD, link, buf, room);
    if (n <= 0 || (size_t)n >= room || buf[0] != '/') return 0;
    return (size_t)n;
}

/* Logs KIND for PATH. With ABSOLUTIZE, a relative PATH is prefixed with the
 * directory DIRFD stands for. */
static void emit(char kind, int dirfd, const char *path, int absolutize) {
    if (!path || !path[0]) return;
    char line[LINE_CAP + 2];
    size_t at = 0;
    line[at++] = kind;
    line[at++] = ' ';
    if (absolutize && path[0] != '/') {
        size_t n = put_dir(line + at, LINE_CAP - at, dirfd);
        if (n == 0) return;
        at += n;
        if (line[at - 1] != '/') line[at++] = '/';
    }
    for (const char *p = path; *p; p++) {
        if (at >= LINE_CAP || *p == '\n') return;
        line[at++] = *p;
    }
    line[at++] = '\n';
    if (!first_time(line, at)) return;
    int owned;
    int fd = trace_descriptor(&owned);
    if (fd < 0) return;
    long w;
    do {
        w = syscall(SYS_write, fd, line, at);
    } while (w < 0 && errno == EINTR);
    if (owned) syscall(SYS_close, fd);
}

/* Runs STMT as the observer: not nested, only when traced, errno kept. */
/* Set by kiln in its own process (`kiln_trace_quiet`): kiln running inside
 * an observed run hands the run what its actions read itself; its own
 * reads (its settings file, its store) are no inputs of the run. Programs
 * it starts are observed as usual. */
static int quiet;

EXPORT void kiln_trace_quiet(void);
void kiln_trace_quiet(void) { __atomic_store_n(&quiet, 1, __ATOMIC_RELEASE); }

#define OBSERVE(stmt)                                   \
    do {                                                \
        if (!busy && !__atomic_load_n(&quiet, __ATOMIC_ACQUIRE) && trace_target()) { \
            int saved_errno_ = errno;                   \
            busy = 1;                                   \
            stmt;                                       \
            busy = 0;                                   \
            errno = saved_errno_;                       \
        }                                               \
    } while (0)

static int missing(int err) { return err == ENOENT || err == ENOTDIR; }

static int writes(int flags) {
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0;
}

static void note_open(int dirfd, const char *path, int flags, int ok, int err) {
    if ((flags & O_TMPFILE) == O_TMPFILE) return; /* unnamed: not a file of the tree */
    int w = writes(flags);
    if (ok) emit(w ? 'W' : 'R', dirfd, path, 1);
    else if (!w && missing(err)) emit('A', dirfd, path, 1);
}

static int fopen_flags(const char *mode) {
    if (!mode || mode[0] != 'r') return O_WRONLY | O_CREAT;
    return strchr(mode, '+') ? O_RDWR : O_RDONLY;
}

/* ------------------------------------------------------------------------ */
/* The real functions.                                                      */

static void *lookup(const char *name) {
    resolving++;
    void *f = dlsym(RTLD_NEXT, name);
    resolving--;
    return f;
}

/* Defines real_NAME(): the next definition of NAME, resolved once. NULL
 * while this thread is inside dlsym or when no library defines it. */
#define REAL(type, name)                                              \
    static type real_##name##_ptr;                                    \
    static type real_##name(void) {                                   \
        type f = __atomic_load_n(&real_##name##_ptr, __ATOMIC_ACQUIRE); \
        if (!f && !resolving) {                                       \
            f = (type)lookup(#name);                                  \
            __atomic_store_n(&real_##name##_ptr, f, __ATOMIC_RELEASE); \
        }                                                             \
        return f;                                                     \
    }

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef int (*creat_fn)(const char *, mode_t);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef FILE *(*freopen_fn)(const char *, const char *, FILE *);
typedef int (*stat_fn)(const char *, void *);
typedef int (*fstatat_fn)(int, const char *, void *, int);
typedef int (*statx_fn)(int, const char *, int, unsigned, void *);
typedef int (*xstat_fn)(int, const char *, void *);
typedef int (*fxstatat_fn)(int, int, const char *, void *, int);
typedef int (*access_fn)(const char *, int);
typedef int (*faccessat_fn)(int, const char *, int, int);
typedef DIR *(*opendir_fn)(const char *);
typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat_fn)(int, const char *, int, const char *);
typedef int (*renameat2_fn)(int, const char *, int, const char *, unsigned);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
typedef struct hostent *(*gethostbyname_fn)(const char *);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);

REAL(open_fn, open)
REAL(open_fn, open64)
REAL(openat_fn, openat)
REAL(openat_fn, openat64)
REAL(open2_fn, __open_2)
REAL(open2_fn, __open64_2)
REAL(openat2_fn, __openat_2)
REAL(openat2_fn, __openat64_2)
REAL(creat_fn, creat)
REAL(creat_fn, creat64)
REAL(fopen_fn, fopen)
REAL(fopen_fn, fopen64)
REAL(freopen_fn, freopen)
REAL(freopen_fn, freopen64)
REAL(stat_fn, stat)
REAL(stat_fn, stat64)
REAL(stat_fn, lstat)
REAL(stat_fn, lstat64)
REAL(fstatat_fn, fstatat)
REAL(fstatat_fn, fstatat64)
REAL(statx_fn, statx)
REAL(xstat_fn, __xstat)
REAL(xstat_fn, __xstat64)
REAL(xstat_fn, __lxstat)
REAL(xstat_fn, __lxstat64)
REAL(fxstatat_fn, __fxstatat)
REAL(fxstatat_fn, __fxstatat64)
REAL(access_fn, access)
REAL(faccessat_fn, faccessat)
REAL(opendir_fn, opendir)
REAL(rename_fn, rename)
REAL(renameat_fn, renameat)
REAL(renameat2_fn, renameat2)
REAL(connect_fn, connect)
REAL(getaddrinfo_fn, getaddrinfo)
REAL(gethostbyname_fn, gethostbyname)
REAL(execve_fn, execve)
REAL(execv_fn, execv)
REAL(execv_fn, execvp)
REAL(execve_fn, execvpe)
REAL(spawn_fn, posix_spawn)
REAL(spawn_fn, posix_spawnp)

/* ------------------------------------------------------------------------ */
/* Opening files.                                                           */

static int takes_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

/* open() and openat() also work while dlsym runs: by system call. */
#define OPEN_HOOK(sym, large)                                              \
    EXPORT int hook_##sym(const char *path, int flags, ...) __asm__(#sym); \
    int hook_##sym(const char *path, int flags, ...) {                    \
        mode_t mode = 0;                                                   \
        if (takes_mode(flags)) {                                           \
            va_list ap;                                                    \
            va_start(ap, flags);                                           \
            mode = va_arg(ap, mode_t);                                     \
            va_end(ap);                                                    \
        }                                                                  \
        open_fn f = real_##sym();                                          \
        int r = f ? f(path, flags, mode)                                   \
                  : (int)syscall(SYS_openat, AT_FDCWD, path, flags | (large), mode); \
        OBSERVE(note_open(AT_FDCWD, path, flags, r >= 0, errno));          \
        return r;                                                          \
    }

#define OPENAT_HOOK(sym, large)                                                     \
    EXPORT int hook_##sym(int dirfd, const char *path, int flags, ...) __asm__(#sym); \
    int hook_##sym(int dirfd, const char *path, int flags, ...) {                   \
        mode_t mode = 0;                                                            \
        if (takes_mode(flags)) {                                                    \
            va_list ap;                                                             \
            va_start(ap, flags);                                                    \
            mode = va_arg(ap, mode_t);                                              \
            va_end(ap);                                                             \
        }                                                                           \
        openat_fn f = real_##sym();                                                 \
        int r = f ? f(dirfd, path, flags, mode)                                     \
                  : (int)syscall(SYS_openat, dirfd, path, flags | (large), mode);   \
        OBSERVE(note_open(dirfd, path, flags, r >= 0, errno));                      \
        return r;                                                                   \
    }

OPEN_HOOK(open, 0)
OPEN_HOOK(open64, O_LARGEFILE)
OPENAT_HOOK(openat, 0)
OPENAT_HOOK(openat64, O_LARGEFILE)

/* The _FORTIFY_SOURCE entry points (no mode argument). */
#define OPEN2_HOOK(sym, large)                                            \
    EXPORT int hook_##sym(const char *path, int flags) __asm__(#sym);     \
    int hook_##sym(const char *path, int flags) {                        \
        open2_fn f = real_##sym();                                        \
        int r = f ? f(path, flags)                                        \
                  : (int)syscall(SYS_openat, AT_FDCWD, path, flags | (large), 0); \
        OBSERVE(note_open(AT_FDCWD, path, flags, r >= 0, errno));         \
        return r;                                                         \
    }

#define OPENAT2_HOOK(sym, large)                                                \
    EXPORT int hook_##sym(int dirfd, const char *path, int flags) __asm__(#sym); \
    int hook_##sym(int dirfd, const char *path, int flags) {                   \
        openat2_fn f = real_##sym();                                            \
        int r = f ? f(dirfd, path, flags)                                       \
                  : (int)syscall(SYS_openat, dirfd, path, flags | (large), 0);  \
        OBSERVE(note_open(dirfd, path, flags, r >= 0, errno));                  \
        return r;                                                               \
    }

OPEN2_HOOK(__open_2, 0)
OPEN2_HOOK(__open64_2, O_LARGEFILE)
OPENAT2_HOOK(__openat_2, 0)
OPENAT2_HOOK(__openat64_2, O_LARGEFILE)

#define CREAT_HOOK(sym)                                                 \
    EXPORT int hook_##sym(const char *path, mode_t mode) __asm__(#sym); \
    int hook_##sym(const char *path, mode_t mode) {                    \
        creat_fn f = real_##sym();                                      \
        if (!f) {                                                       \
            errno = ENOSYS;                                             \
            return -1;                                                  \
        }                                                               \
        int r = f(path, mode);                                          \
        OBSERVE(if (r >= 0) emit('W', AT_FDCWD, path, 1));              \
        return r;                                                       \
    }

CREAT_HOOK(creat)
CREAT_HOOK(creat64)

#define FOPEN_HOOK(sym)                                                        \
    EXPORT FILE *hook_##sym(const char *path, const char *mode) __asm__(#sym); \
    FILE *hook_##sym(const char *path, const char *mode) {                    \
        fopen_fn f = real_##sym();                                             \
        if (!f) {                                                              \
            errno = ENOSYS;                                                    \
            return NULL;                                                       \
        }                                                                      \
        FILE *r = f(path, mode);                                               \
        OBSERVE(note_open(AT_FDCWD, path, fopen_flags(mode), r != NULL, errno)); \
        return r;                                                              \
    }

FOPEN_HOOK(fopen)
FOPEN_HOOK(fopen64)

#define FREOPEN_HOOK(sym)                                                                 \
    EXPORT FILE *hook_##sym(const char *path, const char *mode, FILE *s) __asm__(#sym);   \
    FILE *hook_##sym(const char *path, const char *mode, FILE *s) {                      \
        freopen_fn f = real_##sym();                                                      \
        if (!f) {                                                                         \
            errno = ENOSYS;                                                               \
            return NULL;                                                                  \
        }                                                                                 \
        FILE *r = f(path, mode, s);                                                       \
        if (path) OBSERVE(note_open(AT_FDCWD, path, fopen_flags(mode), r != NULL, errno)); \
        return r;                                                                         \
    }

FREOPEN_HOOK(freopen)
FREOPEN_HOOK(freopen64)

/* ------------------------------------------------------------------------ */
/* Probing for files: a miss is logged as A, a hit as P (a program may act  */
/* on a file merely existing, e.g. `Path::exists`).                         */

static void note_probe(int dirfd, const char *path, int r, int err) {
    if (r == 0) emit('P', dirfd, path, 1);
    else if (missing(err)) emit('A', dirfd, path, 1);
}

#define STAT_HOOK(sym)                                                 \
    EXPORT int hook_##sym(const char *path, void *buf) __asm__(#sym);  \
    int hook_##sym(const char *path, void *buf) {                     \
        stat_fn f = real_##sym();                                      \
        if (!f) {                                                      \
            errno = ENOSYS;                                            \
            return -1;                                                 \
        }                                                              \
        int r = f(path, buf);                                          \
        OBSERVE(note_probe(AT_FDCWD, path, r, errno));                 \
        return r;                                                      \
    }

STAT_HOOK(stat)
STAT_HOOK(stat64)
STAT_HOOK(lstat)
STAT_HOOK(lstat64)

#define FSTATAT_HOOK(sym)                                                                \
    EXPORT int hook_##sym(int dirfd, const char *path, void *buf, int flags) __asm__(#sym); \
    int hook_##sym(int dirfd, const char *path, void *buf, int flags) {                   \
        fstatat_fn f = real_##sym();                                                      \
        if (!f) {                                                                         \
            errno = ENOSYS;                                                               \
            return -1;                                                                    \
        }                                                                                 \
        int r = f(dirfd, path, buf, flags);                                               \
        OBSERVE(note_probe(dirfd, path, r, errno));                                       \
        return r;                                                                         \
    }

FSTATAT_HOOK(fstatat)
FSTATAT_HOOK(fstatat64)

EXPORT int hook_statx(int dirfd, const char *path, int flags, unsigned mask, void *buf) __asm__("statx");
int hook_statx(int dirfd, const char *path, int flags, unsigned mask, void *buf) {
    statx_fn f = real_statx();
    int r = f ? f(dirfd, path, flags, mask, buf) : (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
    OBSERVE(note_probe(dirfd, path, r, errno));
    return r;
}

/* The stat entry points of programs built against glibc before 2.33 (the
 * LLVM inside rustc uses them). */
#define XSTAT_HOOK(sym)                                                         \
    EXPORT int hook_##sym(int ver, const char *path, void *buf) __asm__(#sym);  \
    int hook_##sym(int ver, const char *path, void *buf) {                     \
        xstat_fn f = real_##sym();                                              \
        if (!f) {                                                               \
            errno = ENOSYS;                                                     \
            return -1;                                                          \
        }                                                                       \
        int r = f(ver, path, buf);                                              \
        OBSERVE(note_probe(AT_FDCWD, path, r, errno));                          \
        return r;                                                               \
    }

XSTAT_HOOK(__xstat)
XSTAT_HOOK(__xstat64)
XSTAT_HOOK(__lxstat)
XSTAT_HOOK(__lxstat64)

#define FXSTATAT_HOOK(sym)                                                                         \
    EXPORT int hook_##sym(int ver, int dirfd, const char *path, void *buf, int flags) __asm__(#sym); \
    int hook_##sym(int ver, int dirfd, const char *path, void *buf, int flags) {                    \
        fxstatat_fn f = real_##sym();                                                               \
        if (!f) {                                                                                   \
            errno = ENOSYS;                                                                         \
            return -1;                                                                              \
        }                                                                                           \
        int r = f(ver, dirfd, path, buf, flags);                                                    \
        OBSERVE(note_probe(dirfd, path, r, errno));                                                 \
        return r;                                                                                   \
    }

FXSTATAT_HOOK(__fxstatat)
FXSTATAT_HOOK(__fxstatat64)

EXPORT int hook_access(const char *path, int mode) __asm__("access");
int hook_access(const char *path, int mode) {
    access_fn f = real_access();
    int r = f ? f(path, mode) : (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
    OBSERVE(note_probe(AT_FDCWD, path, r, errno));
    return r;
}

EXPORT int hook_faccessat(int dirfd, const char *path, int mode, int flags) __asm__("faccessat");
int hook_faccessat(int dirfd, const char *path, int mode, int flags) {
    faccessat_fn f = real_faccessat();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    int r = f(dirfd, path, mode, flags);
    OBSERVE(note_probe(dirfd, path, r, errno));
    return r;
}

EXPORT DIR *hook_opendir(const char *path) __asm__("opendir");
DIR *hook_opendir(const char *path) {
    opendir_fn f = real_opendir();
    if (!f) {
        errno = ENOSYS;
        return NULL;
    }
    DIR *d = f(path);
    if (d) {
        OBSERVE(emit('D', AT_FDCWD, path, 1));
    } else {
        OBSERVE(note_probe(AT_FDCWD, path, -1, errno));
    }
    return d;
}

/* ------------------------------------------------------------------------ */
/* Files moved into place count as written.                                 */

EXPORT int hook_rename(const char *from, const char *to) __asm__("rename");
int hook_rename(const char *from, const char *to) {
    rename_fn f = real_rename();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    int r = f(from, to);
    OBSERVE(if (r == 0) emit('W', AT_FDCWD, to, 1));
    return r;
}

EXPORT int hook_renameat(int fromfd, const char *from, int tofd, const char *to) __asm__("renameat");
int hook_renameat(int fromfd, const char *from, int tofd, const char *to) {
    renameat_fn f = real_renameat();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    int r = f(fromfd, from, tofd, to);
    OBSERVE(if (r == 0) emit('W', tofd, to, 1));
    return r;
}

EXPORT int hook_renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags) __asm__("renameat2");
int hook_renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags) {
    renameat2_fn f = real_renameat2();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    int r = f(fromfd, from, tofd, to, flags);
    OBSERVE(if (r == 0) {
        emit('W', tofd, to, 1);
        if (flags & RENAME_EXCHANGE) emit('W', fromfd, from, 1);
    });
    return r;
}

/* ------------------------------------------------------------------------ */
/* Environment lookups. Answered by scanning environ directly, like glibc   */
/* does: calling dlsym here could recurse (allocators read their settings   */
/* through getenv while dlsym allocates).                                   */

/* Logs KIND for WHAT, followed by a tab and this process's executable. */
/* Logs `KIND what\tEXE`, or `KIND what\tEXE\tOBJECT` when OBJECT (the
 * library whose code made the call) is given and is not the executable. */
static void emit_from(char kind, const char *what, const char *object) {
    char rec[LINE_CAP];
    if (!self_exe[0]) {
        /* Called before the constructor ran (another library's). */
        long len = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", self_exe, sizeof self_exe - 1);
        self_exe[len > 0 ? len : 0] = 0;
    }
    size_t n = strlen(what), m = strlen(self_exe);
    size_t o = object && strcmp(object, self_exe) != 0 ? strlen(object) : 0;
    if (n + 1 + m + 1 + (o ? o + 1 : 0) > sizeof rec) return;
    memcpy(rec, what, n);
    rec[n] = '\t';
    memcpy(rec + n + 1, self_exe, m + 1);
    if (o) {
        rec[n + 1 + m] = '\t';
        memcpy(rec + n + 1 + m + 1, object, o + 1);
    }
    emit(kind, AT_FDCWD, rec, 0);
}

static void emit_by(char kind, const char *what) { emit_from(kind, what, NULL); }

/* Finding the loaded object that holds a code address: the loader's list
 * of segments, with the last object found remembered per thread (programs
 * look many variables up from the same code; `dladdr` would search symbol
 * tables on every call). */
struct find_object {
    uintptr_t pc, start, end;
    const char *name;
};

static int find_object_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct find_object *f = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (f->pc >= start && f->pc < end) {
            f->start = start, f->end = end;
            f->name = info->dlpi_name ? info->dlpi_name : "";
            return 1;
        }
    }
    return 0;
}

static THREAD_LOCAL uintptr_t last_object_start, last_object_end;
static THREAD_LOCAL const char *last_object_name;

/* The file of the loaded object holding code address PC, or NULL (the
 * program itself, or not found). */
static const char *object_of(const void *pc) {
    uintptr_t at = (uintptr_t)pc;
    if (!at) return NULL;
    if (at >= last_object_start && at < last_object_end) return last_object_name;
    struct find_object f = {at, 0, 0, NULL};
    if (!dl_iterate_phdr(find_object_cb, &f) || !f.name) return NULL;
    last_object_start = f.start, last_object_end = f.end;
    last_object_name = f.name[0] == '/' ? f.name : NULL;
    return last_object_name;
}

static void note_env(const char *name, const void *caller) {
    if (!name || strchr(name, '=') || strchr(name, '\t')) return;
    emit_from('E', name, object_of(caller));
}

EXPORT char *hook_getenv(const char *name) __asm__("getenv");
char *hook_getenv(const char *name) {
    OBSERVE(note_env(name, __builtin_return_address(0)));
    return (char *)env_scan(environ, name);
}

EXPORT char *hook_secure_getenv(const char *name) __asm__("secure_getenv");
char *hook_secure_getenv(const char *name) {
    OBSERVE(note_env(name, __builtin_return_address(0)));
    if (getauxval(AT_SECURE)) return NULL;
    return (char *)env_scan(environ, name);
}

/* ------------------------------------------------------------------------ */
/* The network: what comes from it is no input kiln can key.                */

EXPORT int hook_connect(int fd, const struct sockaddr *addr, socklen_t len) __asm__("connect");
int hook_connect(int fd, const struct sockaddr *addr, socklen_t len) {
    OBSERVE(emit_by('N', addr && addr->sa_family == AF_UNIX ? "unix" : "inet"));
    connect_fn f = real_connect();
    if (!f) return (int)syscall(SYS_connect, fd, addr, len);
    return f(fd, addr, len);
}

EXPORT int hook_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res) __asm__("getaddrinfo");
int hook_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res) {
    OBSERVE(emit_by('N', "dns"));
    getaddrinfo_fn f = real_getaddrinfo();
    if (!f) return EAI_FAIL;
    return f(node, service, hints, res);
}

EXPORT struct hostent *hook_gethostbyname(const char *name) __asm__("gethostbyname");
struct hostent *hook_gethostbyname(const char *name) {
    OBSERVE(emit_by('N', "dns"));
    gethostbyname_fn f = real_gethostbyname();
    if (!f) return NULL;
    return f(name);
}

/* ------------------------------------------------------------------------ */
/* The wall clock: an output that holds the time cannot be replayed. It is   */
/* read through the vDSO, without a system call, but programs ask libc for   */
/* it: `clock_gettime` with a real-time clock, `gettimeofday`, `time`,       */
/* `timespec_get`. Each object whose code asks is logged once per process    */
/* (`T realtime\tEXE\tOBJECT`); monotonic clocks go straight through.       */

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef int (*timespec_get_fn)(struct timespec *, int);
REAL(clock_gettime_fn, clock_gettime)
REAL(gettimeofday_fn, gettimeofday)
REAL(time_fn, time)
REAL(timespec_get_fn, timespec_get)

#define CLOCK_SEEN 16
static const char *clock_seen[CLOCK_SEEN];
static int clock_seen_count, clock_seen_exe;

static void note_clock(const void *caller) {
    const char *o = object_of(caller);
    if (!o) {
        if (__atomic_exchange_n(&clock_seen_exe, 1, __ATOMIC_RELAXED)) return;
    } else {
        int n = __atomic_load_n(&clock_seen_count, __ATOMIC_RELAXED);
        for (int i = 0; i < n && i < CLOCK_SEEN; i++)
            if (clock_seen[i] == o) return;
        int i = __atomic_fetch_add(&clock_seen_count, 1, __ATOMIC_RELAXED);
        if (i < CLOCK_SEEN) clock_seen[i] = o;
    }
    emit_from('T', "realtime", o);
}

/* The clocks that tell the time of day: the real-time ones and dynamic
 * clocks (negative ids: a PTP device's). Monotonic and CPU clocks do not. */
static int realtime(clockid_t id) {
    return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI ||
           id == CLOCK_REALTIME_ALARM || id < 0;
}

EXPORT int hook_clock_gettime(clockid_t id, struct timespec *ts) __asm__("clock_gettime");
int hook_clock_gettime(clockid_t id, struct timespec *ts) {
    if (realtime(id)) OBSERVE(note_clock(__builtin_return_address(0)));
    clock_gettime_fn f = real_clock_gettime();
    if (!f) return (int)syscall(SYS_clock_gettime, id, ts);
    return f(id, ts);
}

EXPORT int hook_gettimeofday(struct timeval *tv, void *tz) __asm__("gettimeofday");
int hook_gettimeofday(struct timeval *tv, void *tz) {
    OBSERVE(note_clock(__builtin_return_address(0)));
    gettimeofday_fn f = real_gettimeofday();
    if (!f) return (int)syscall(SYS_gettimeofday, tv, tz);
    return f(tv, tz);
}

EXPORT time_t hook_time(time_t *t) __asm__("time");
time_t hook_time(time_t *t) {
    OBSERVE(note_clock(__builtin_return_address(0)));
    time_fn f = real_time();
    if (!f) {
        struct timespec ts;
        if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
        if (t) *t = ts.tv_sec;
        return ts.tv_sec;
    }
    return f(t);
}

/* The kernel's clock adjustment calls hand the time of day back too. */
typedef int (*adjtimex_fn)(struct timex *);
typedef int (*ntp_gettime_fn)(struct ntptimeval *);
typedef int (*clock_adjtime_fn)(clockid_t, struct timex *);
REAL(adjtimex_fn, adjtimex)
REAL(ntp_gettime_fn, ntp_gettime)
REAL(ntp_gettime_fn, ntp_gettimex)
REAL(clock_adjtime_fn, clock_adjtime)

EXPORT int hook_adjtimex(struct timex *buf) __asm__("adjtimex");
int hook_adjtimex(struct timex *buf) {
    OBSERVE(note_clock(__builtin_return_address(0)));
    adjtimex_fn f = real_adjtimex();
    if (!f) return (int)syscall(SYS_adjtimex, buf);
    return f(buf);
}

EXPORT int hook_ntp_gettime(struct ntptimeval *tv) __asm__("ntp_gettime");
int hook_ntp_gettime(struct ntptimeval *tv) {
    OBSERVE(note_clock(__builtin_return_address(0)));
    ntp_gettime_fn f = real_ntp_gettime();
    if (!f) { errno = ENOSYS; return -1; }
    return f(tv);
}

EXPORT int hook_ntp_gettimex(struct ntptimeval *tv) __asm__("ntp_gettimex");
int hook_ntp_gettimex(struct ntptimeval *tv) {
    OBSERVE(note_clock(__builtin_return_address(0)));
    ntp_gettime_fn f = real_ntp_gettimex();
    if (!f) { errno = ENOSYS; return -1; }
    return f(tv);
}

EXPORT int hook_clock_adjtime(clockid_t id, struct timex *buf) __asm__("clock_adjtime");
int hook_clock_adjtime(clockid_t id, struct timex *buf) {
    OBSERVE(note_clock(__builtin_return_address(0)));
    clock_adjtime_fn f = real_clock_adjtime();
    if (!f) return (int)syscall(SYS_clock_adjtime, id, buf);
    return f(id, buf);
}

EXPORT int hook_timespec_get(struct timespec *ts, int base) __asm__("timespec_get");
int hook_timespec_get(struct timespec *ts, int base) {
    OBSERVE(note_clock(__builtin_return_address(0)));
    timespec_get_fn f = real_timespec_get();
    if (!f) return 0;
    return f(ts, base);
}

/* ------------------------------------------------------------------------ */
/* Libraries loaded after start-up (dlopen, and what they need).             */
/* The loader opens them with internal calls no hook sees; they are listed   */
/* from the loader's own list when the process exits (a process that execs   */
/* or dies first goes unlisted; compilers and build scripts exit).           */

#define START_OBJECTS 512
static uint64_t start_objects[START_OBJECTS];
static size_t start_count;

static uint64_t name_hash(const char *s) { return line_hash(s, strlen(s)); }

static int remember_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size, (void)data;
    if (start_count < START_OBJECTS) start_objects[start_count++] = name_hash(info->dlpi_name ? info->dlpi_name : "");
    return 0;
}

static int note_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size, (void)data;
    const char *name = info->dlpi_name;
    if (!name || name[0] != '/') return 0;
    uint64_t h = name_hash(name);
    for (size_t i = 0; i < start_count; i++)
        if (start_objects[i] == h) return 0;
    emit('R', AT_FDCWD, name, 0);
    return 0;
}

/* Logs every object loaded since start-up. */
static void note_loaded_objects(void) { dl_iterate_phdr(note_object, NULL); }

__attribute__((destructor)) static void observer_end(void) {
    int saved = errno;
    OBSERVE(note_loaded_objects());
    errno = saved;
}

/* ------------------------------------------------------------------------ */
/* Programs run.                                                            */

/* SEARCHED: the name is looked up on PATH when it has no slash. */
static void note_exec(const char *prog, int searched) {
    if (!prog) return;
    int by_name = searched && !strchr(prog, '/');
    if (by_name && !strchr(prog, '\t')) {
        /* The search path this process looks the name up on: `S name\tPATH`,
         * or `S name` when PATH is unset (libc's default path). */
        char rec[LINE_CAP];
        const char *path = env_scan(environ, "PATH");
        size_t n = strlen(prog), m = path ? strlen(path) : 0;
        if (n + 1 + m + 1 <= sizeof rec) {
            memcpy(rec, prog, n);
            if (path) {
                rec[n] = '\t';
                memcpy(rec + n + 1, path, m + 1);
            } else {
                rec[n] = 0;
            }
            emit('S', AT_FDCWD, rec, 0);
        }
    }
    emit('X', AT_FDCWD, prog, !by_name);
}

static int has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Whether the LD_PRELOAD value lists this library. */
static int preload_lists_self(const char *value) {
    size_t n = strlen(self_path);
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == ':') p++;
        const char *end = p;
        while (*end && *end != ' ' && *end != ':') end++;
        if ((size_t)(end - p) == n && strncmp(p, self_path, n) == 0) return 1;
        p = end;
    }
    return 0;
}

/* The environment a child gets: ENVP itself when it still carries the
 * observer, else a copy in SLOTS (room for `count + 3`) with LD_PRELOAD and
 * KILN_TRACE_FILE restored, the LD_PRELOAD entry built in PRELOAD. */
static char *const *child_env(char *const *envp, size_t count, char **slots, char *preload, size_t preload_cap) {
    if (!__atomic_load_n(&configured, __ATOMIC_ACQUIRE) || !trace_path[0] || !self_path[0]) return envp;
    if (!envp || count > ENV_PATCH_MAX) return envp;
    int has_trace = 0;
    const char *old_preload = NULL;
    for (size_t i = 0; i < count; i++) {
        if (has_prefix(envp[i], "KILN_TRACE_FILE=")) has_trace = 1;
        else if (has_prefix(envp[i], "LD_PRELOAD=")) old_preload = envp[i] + strlen("LD_PRELOAD=");
    }
    int preload_ok = old_preload && preload_lists_self(old_preload);
    if (has_trace && preload_ok) return envp;
    if (!preload_ok) {
        size_t a = strlen("LD_PRELOAD="), b = strlen(self_path);
        size_t c = old_preload ? strlen(old_preload) : 0;
        if (a + b + 1 + c + 1 > preload_cap) return envp;
        memcpy(preload, "LD_PRELOAD=", a);
        memcpy(preload + a, self_path, b);
        size_t at = a + b;
        if (c) {
            preload[at++] = ' ';
            memcpy(preload + at, old_preload, c);
            at += c;
        }
        preload[at] = 0;
    }
    size_t out = 0;
    for (size_t i = 0; i < count; i++) {
        if (!preload_ok && has_prefix(envp[i], "LD_PRELOAD=")) continue;
        slots[out++] = envp[i];
    }
    if (!preload_ok) slots[out++] = preload;
    if (!has_trace) slots[out++] = trace_entry;
    slots[out] = NULL;
    return slots;
}

static size_t env_count(char *const *envp) {
    size_t n = 0;
    while (envp && envp[n]) n++;
    return n;
}

/* Declares ENV_OUT: ENV_IN, or a copy of it that still carries the observer.
 * The buffers live in the caller's frame, which is what exec needs. */
#define CHILD_ENV(env_out, env_in)                                                   \
    char *const *env_in_ = (env_in);                                                 \
    size_t env_n_ = env_count(env_in_);                                              \
    char *env_slots_[env_n_ <= ENV_PATCH_MAX ? env_n_ + 3 : 1];                      \
    char env_preload_[PATH_MAX + 4096];                                              \
    char *const *env_out = busy ? env_in_ : child_env(env_in_, env_n_, env_slots_, env_preload_, sizeof env_preload_)

/* ------------------------------------------------------------------------ */
/* C and C++ compiles through kiln's compile cache.                          */

/* Whether NAME (a path or a bare name) names a C or C++ compiler driver:
 * cc, c++, gcc, g++, clang, clang++, with an optional target prefix
 * (`x86_64-linux-gnu-gcc`) and version suffix (`gcc-12`, `clang-17`). */
static int is_c_compiler(const char *name) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = strlen(base), end = n, i = n;
    while (i > 0 && ((base[i - 1] >= '0' && base[i - 1] <= '9') || base[i - 1] == '.')) i--;
    if (i < n && i > 1 && base[i - 1] == '-') end = i - 1;
    static const char *const drivers[] = {"cc", "c++", "gcc", "g++", "clang", "clang++", NULL};
    for (const char *const *d = drivers; *d; d++) {
        size_t m = strlen(*d);
        if (end == m && strncmp(base, *d, m) == 0) return 1;
        if (end > m && base[end - m - 1] == '-' && strncmp(base + end - m, *d, m) == 0) return 1;
    }
    return 0;
}

/* The kiln executable a compile of PROG with ARGV and ENV goes through, or
 * NULL. A bare name goes through kiln only when ENV searches the same PATH
 * the caller would (execvpe and posix_spawnp search the caller's). */
static const char *cc_launcher(const char *prog, char *const argv[], char *const *env, int searched) {
    if (busy || !prog || !argv || !argv[0]) return NULL;
    const char *launcher = env_scan(env, "KILN_CC_LAUNCHER");
    if (!launcher || launcher[0] != '/' || !is_c_compiler(prog)) return NULL;
    int compiles = 0;
    for (size_t i = 1; argv[i]; i++)
        if (strcmp(argv[i], "-c") == 0) compiles = 1;
    if (!compiles) return NULL;
    if (searched && !strchr(prog, '/')) {
        const char *a = env_scan(env, "PATH"), *b = env_scan(environ, "PATH");
        if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0)) return NULL;
    }
    return launcher;
}

static size_t argv_count(char *const argv[]) {
    size_t n = 0;
    while (argv[n]) n++;
    return n;
}

/* Declares NEW_ARGV, the launcher's arguments for PROG and ARGV: room for
 * argc + 4 entries on the caller's stack. */
#define LAUNCHER_ARGV(new_argv, launcher, prog, argv)                         \
    size_t launch_n_ = (launcher) ? argv_count(argv) : 0;                      \
    char *new_argv[launch_n_ + 4];                                             \
    if (launcher) {                                                            \
        new_argv[0] = (char *)(launcher);                                      \
        new_argv[1] = (char *)"__cc";                                          \
        new_argv[2] = (char *)(prog);                                          \
        for (size_t i_ = 0; i_ < launch_n_; i_++) new_argv[3 + i_] = (argv)[i_]; \
        new_argv[launch_n_ + 3] = NULL;                                        \
    }

EXPORT int hook_execve(const char *path, char *const argv[], char *const envp[]) __asm__("execve");
int hook_execve(const char *path, char *const argv[], char *const envp[]) {
    OBSERVE(note_exec(path, 0));
    CHILD_ENV(env, envp);
    execve_fn f = real_execve();
    const char *launcher = cc_launcher(path, argv, env, 0);
    LAUNCHER_ARGV(launch_argv, launcher, path, argv);
    if (launcher && f) f(launcher, launch_argv, env); /* returns only when it failed */
    if (!f) return (int)syscall(SYS_execve, path, argv, env);
    return f(path, argv, env);
}

EXPORT int hook_execv(const char *path, char *const argv[]) __asm__("execv");
int hook_execv(const char *path, char *const argv[]) {
    OBSERVE(note_exec(path, 0));
    CHILD_ENV(env, environ);
    const char *launcher = cc_launcher(path, argv, env, 0);
    LAUNCHER_ARGV(launch_argv, launcher, path, argv);
    if (launcher) {
        execve_fn g = real_execve();
        if (g) g(launcher, launch_argv, env); /* returns only when it failed */
    }
    if (env != environ) {
        execve_fn f = real_execve();
        if (f) return f(path, argv, env);
    }
    execv_fn f = real_execv();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    return f(path, argv);
}

EXPORT int hook_execvpe(const char *file, char *const argv[], char *const envp[]) __asm__("execvpe");
int hook_execvpe(const char *file, char *const argv[], char *const envp[]) {
    OBSERVE(note_exec(file, 1));
    CHILD_ENV(env, envp);
    const char *launcher = cc_launcher(file, argv, env, 1);
    LAUNCHER_ARGV(launch_argv, launcher, file, argv);
    if (launcher) {
        execve_fn g = real_execve();
        if (g) g(launcher, launch_argv, env); /* returns only when it failed */
    }
    execve_fn f = real_execvpe();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    return f(file, argv, env);
}

EXPORT int hook_execvp(const char *file, char *const argv[]) __asm__("execvp");
int hook_execvp(const char *file, char *const argv[]) {
    OBSERVE(note_exec(file, 1));
    CHILD_ENV(env, environ);
    const char *launcher = cc_launcher(file, argv, env, 1);
    LAUNCHER_ARGV(launch_argv, launcher, file, argv);
    if (launcher) {
        execve_fn g = real_execve();
        if (g) g(launcher, launch_argv, env); /* returns only when it failed */
    }
    if (env != environ) {
        execve_fn f = real_execvpe();
        if (f) return f(file, argv, env);
    }
    execv_fn f = real_execvp();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    return f(file, argv);
}

/* execl, execle, execlp: collect the arguments, then as execve/execvpe. */
#define COLLECT_ARGS(argv, arg0, last, tail)                            \
    size_t argc_ = 1;                                                  \
    {                                                                  \
        va_list ap_;                                                   \
        va_start(ap_, last);                                           \
        if (arg0)                                                      \
            while (va_arg(ap_, char *)) argc_++;                       \
        va_end(ap_);                                                   \
    }                                                                  \
    char *argv[argc_ + 1];                                             \
    {                                                                  \
        va_list ap_;                                                   \
        va_start(ap_, last);                                           \
        argv[0] = (char *)(arg0);                                      \
        for (size_t i_ = 1; i_ < argc_; i_++) argv[i_] = va_arg(ap_, char *); \
        argv[argc_] = NULL;                                            \
        if (arg0) (void)va_arg(ap_, char *);                           \
        tail;                                                          \
        va_end(ap_);                                                   \
    }

EXPORT int hook_execl(const char *path, const char *arg, ...) __asm__("execl");
int hook_execl(const char *path, const char *arg, ...) {
    COLLECT_ARGS(argv, arg, arg, (void)0)
    return hook_execve(path, argv, environ);
}

EXPORT int hook_execlp(const char *file, const char *arg, ...) __asm__("execlp");
int hook_execlp(const char *file, const char *arg, ...) {
    COLLECT_ARGS(argv, arg, arg, (void)0)
    return hook_execvpe(file, argv, environ);
}

EXPORT int hook_execle(const char *path, const char *arg, ...) __asm__("execle");
int hook_execle(const char *path, const char *arg, ...) {
    char *const *envp = NULL;
    COLLECT_ARGS(argv, arg, arg, envp = va_arg(ap_, char *const *))
    return hook_execve(path, argv, envp);
}

#define SPAWN_HOOK(sym, searched)                                                          \
    EXPORT int hook_##sym(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa, \
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) \
        __asm__(#sym);                                                                     \
    int hook_##sym(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,     \
                   const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) { \
        OBSERVE(note_exec(path, searched));                                                \
        CHILD_ENV(env, envp);                                                              \
        const char *launcher = cc_launcher(path, argv, env, searched);                     \
        LAUNCHER_ARGV(launch_argv, launcher, path, argv);                                  \
        spawn_fn f = real_##sym();                                                         \
        if (!f) return ENOSYS;                                                             \
        if (launcher) {                                                                    \
            spawn_fn g = real_posix_spawn();                                               \
            if (g && g(pid, launcher, fa, attr, launch_argv, env) == 0) return 0;          \
        }                                                                                  \
        return f(pid, path, fa, attr, argv, env);                                          \
    }

SPAWN_HOOK(posix_spawn, 0)
SPAWN_HOOK(posix_spawnp, 1)

/* ------------------------------------------------------------------------ */
/* Start-up.                                                                */

__attribute__((constructor)) static void observer_start(void) {
    int saved = errno;
    const char *target = env_scan(environ, "KILN_TRACE_FILE");
    if (target && target[0] == '/' && strlen(target) < PATH_MAX) {
        strcpy(trace_path, target);
        strcpy(trace_entry, "KILN_TRACE_FILE=");
        strcat(trace_entry, target);
    }
    long exe_len = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", self_exe, sizeof self_exe - 1);
    self_exe[exe_len > 0 ? exe_len : 0] = 0;
    Dl_info info;
    if (dladdr((void *)&observer_start, &info) && info.dli_fname && info.dli_fname[0] == '/'
        && strlen(info.dli_fname) < PATH_MAX)
        strcpy(self_path, info.dli_fname);

    /* Resolve everything now: later hooks may run in a vfork or fork child,
     * where dlsym is not safe. */
    (void)real_open(), (void)real_open64(), (void)real_openat(), (void)real_openat64();
    (void)real___open_2(), (void)real___open64_2(), (void)real___openat_2(), (void)real___openat64_2();
    (void)real_creat(), (void)real_creat64();
    (void)real_fopen(), (void)real_fopen64(), (void)real_freopen(), (void)real_freopen64();
    (void)real_stat(), (void)real_stat64(), (void)real_lstat(), (void)real_lstat64();
    (void)real_fstatat(), (void)real_fstatat64(), (void)real_statx();
    (void)real___xstat(), (void)real___xstat64(), (void)real___lxstat(), (void)real___lxstat64();
    (void)real___fxstatat(), (void)real___fxstatat64();
    (void)real_access(), (void)real_faccessat(), (void)real_opendir();
    (void)real_rename(), (void)real_renameat(), (void)real_renameat2();
    (void)real_connect(), (void)real_getaddrinfo(), (void)real_gethostbyname();
    (void)real_execve(), (void)real_execv(), (void)real_execvp(), (void)real_execvpe();
    (void)real_posix_spawn(), (void)real_posix_spawnp();
    (void)real_clock_gettime(), (void)real_gettimeofday(), (void)real_time(), (void)real_timespec_get();
    (void)real_adjtimex(), (void)real_ntp_gettime(), (void)real_ntp_gettimex(), (void)real_clock_adjtime();

    dl_iterate_phdr(remember_object, NULL);
    __atomic_store_n(&configured, 1, __ATOMIC_RELEASE);
    if (trace_path[0]) {
        /* Create the trace now: its existence proves the observer ran. */
        int owned;
        int fd = trace_descriptor(&owned);
        if (owned) syscall(SYS_close, fd);
    }
    errno = saved;
}
