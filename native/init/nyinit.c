/*
 * nyinit: PID 1 of a Nymote device (the erlinit model from Nerves).
 *
 * The initramfs /init finds root by label and switch_roots to /sbin/nyinit, which does what a
 * PID 1 must and nothing more; everything else is TypeScript in the one Node process.
 *
 *  1. mount /proc /sys /dev (devtmpfs) /run /tmp (tmpfs) and /data (ext4, the partition
 *     labelled "data"); a failure is logged and not fatal, but Node is not started without
 *     /data (it holds the app): nyinit then only waits for signals, and a watchdog, if there
 *     is one, goes unpetted after the grace period (7), so the board resets and tries again.
 *     Targets that are already mount points (moved there by the initramfs) are left alone.
 *  2. open /dev/console as stdin/stdout/stderr; every log line goes there, "nyinit: ...".
 *  3. seed the entropy pool from /data/.random-seed and write a fresh seed back at once, so a
 *     seed is never credited twice (power cut after boot). The bootloader's rng-seed needs
 *     nothing here: the kernel reads /chosen/rng-seed from the device tree itself and wipes it.
 *     A factory image must not carry a .random-seed (it would be shared by every card).
 *  4. hostname from /data/config/hostname (first line), else "nymote"; the loopback interface
 *     up (the kernel gives it 127.0.0.1 and ::1), as services and their health checks use it.
 *  5. start `node <flags> /data/firmware/<slot>/index.js run`: <slot> is "active" in
 *     /data/firmware/state.json ("a" or "b", default "a"); <flags> are the words after `node`
 *     in the first line of index.js (`#!/usr/bin/env -S node --max-old-space-size=512`).
 *     Node gets NYINIT_CTL (the control FIFO), NYMOTE_DATA=/data, NYMOTE_MODE=device (a PID 1
 *     is only ever on a device) and NYMOTE_SLOT=<slot> in its environment.
 *     An update on trial (firmware/ota/slots.ts): when state.json's "trial" names the active
 *     slot, each start is counted in /data/firmware/trial-starts (written before the start,
 *     so power cuts count too). After MAX_TRIAL_STARTS starts, or once a start has not been
 *     committed by Node (state.json without "trial") within NYINIT_TRIAL_TIMEOUT s, the
 *     other slot is started instead: "reverted" on the console. Node, started there, sees the
 *     trial it is not in and records the revert; nyinit never writes state.json. When the
 *     initramfs booted an OS slot on trial (NYMOTE_OS_TRIAL=1), a failed trial reboots
 *     instead: the committed OS comes back with the other slot (firmware/ota/os-slots.ts).
 *  6. reap every zombie; restart Node when it dies, after 1 s doubling to 60 s; the delay
 *     goes back to 1 s once Node has stayed up 60 s.
 *  7. hardware watchdog: pet it every timeout/2, but only while Node checks in (see below).
 *     A Node that never checks in gets NYINIT_WATCHDOG_GRACE s (default 30) after each start,
 *     so a Node that crash-loops for good lets the board reset once back-off exceeds that.
 *  8. shut down on request: sync, unmount, reboot(2). Node is asked first (SIGTERM) and
 *     gets NYINIT_NODE_TIMEOUT s (default 10); then every process gets SIGTERM, 2 s, SIGKILL.
 *
 * Requests (what asks for which action):
 *   signal to nyinit:   SIGTERM = reboot, SIGUSR1 and SIGPWR = halt, SIGUSR2 = power off
 *   Node's exit code:   100 = reboot, 101 = power off, 102 = halt, 103 = restart at once
 *                       (an update switched slots); anything else: restart with back-off
 *   control FIFO lines: "alive" (heartbeat), "reboot", "reboot ARG" (ARG goes to the
 *                       bootloader via LINUX_REBOOT_CMD_RESTART2, e.g. "reboot 0 tryboot"
 *                       on a Raspberry Pi), "poweroff", "halt". Unknown lines are logged.
 *
 * Configuration: environment variables (the kernel passes unknown `NAME=value` words of its
 * command line to init, and the initramfs keeps them). Unset means the device behaviour.
 *   NYINIT_DATA_DEVICE       /dev/disk/by-label/data; if that path is missing (no udev),
 *                            the block devices are scanned for an ext4 label of that name
 *   NYINIT_WATCHDOG          /dev/watchdog; empty = no watchdog
 *   NYINIT_WATCHDOG_TIMEOUT  seconds to set; 0 = the driver's. When the device answers no
 *                            timeout ioctl (tests use a plain file) this value, else 10, is used
 *   NYINIT_TRIAL_TIMEOUT     90: seconds a start on trial has to be committed (Node's own
 *                            health check gives up at 60)
 *   NYINIT_WATCHDOG_GRACE    30; NYINIT_NODE_TIMEOUT 10; NYINIT_CONSOLE /dev/console (empty =
 *                            keep the inherited stdio)
 * Test hooks (small on purpose; each only replaces a path or skips a step):
 *   NYINIT_ROOT=DIR          prefix of every mount point and /data, /run path (not /dev)
 *   NYINIT_NO_MOUNT=1        mount and unmount nothing; /data counts as present if DIR/data is
 *   NYINIT_CHILD=PROG        run PROG instead of /usr/bin/node (same arguments)
 *   NYINIT_CTL=PATH          the control FIFO (default DIR/run/nyinit.ctl)
 *   NYINIT_TEST_REBOOT=FILE  instead of reboot(2), write "ACTION[ ARG]\n" there and exit 0
 * When not PID 1 (a test outside a PID namespace), nyinit becomes a child subreaper, signals
 * only Node's process group instead of every process, and never calls reboot(2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/random.h>
#include <linux/reboot.h>
#include <linux/watchdog.h>

#define EXIT_REBOOT 100
#define EXIT_POWEROFF 101
#define EXIT_HALT 102
#define EXIT_RESTART 103 /* start the active slot again at once (an update switched slots) */
#define MAX_TRIAL_STARTS 3

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define STABLE_MS 60000   /* Node up this long: the next restart is quick again */
#define KILL_WAIT_MS 2000 /* between SIGTERM and SIGKILL to everyone */
#define SEED_LEN 512
#define MAX_FLAGS 16

enum action { NONE, REBOOT, POWEROFF, HALT };
static const char *const action_names[] = {"none", "reboot", "poweroff", "halt"};

static struct {
  const char *root, *node, *data_device, *console, *watchdog, *test_reboot;
  char ctl[PATH_MAX];
  int watchdog_timeout, watchdog_grace, node_timeout, trial_timeout, no_mount;
} cfg;

static int sig_fd = -1, ctl_fd = -1, ctl_keep = -1, wd_fd = -1;
static int data_ok, shutting_down, children_left;
static pid_t node_pid, node_group;
static long long node_started, restart_at = -1, backoff_ms = BACKOFF_MIN_MS;
static long long wd_timeout_ms, wd_next_pet, wd_deadline;
static int wd_petting = 1;
static char trial_slot;              /* the slot started on trial, 0 when none */
static long long trial_deadline = -1; /* when that start must have been committed */
static int trial_stopping;           /* SIGTERM sent for a missed deadline; SIGKILL next */
static enum action pending = NONE;
static char pending_arg[128];

/* One write per line, so lines from nyinit and Node do not interleave on the console. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...) {
  char line[512];
  int n = snprintf(line, sizeof line, "nyinit: ");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  size_t len = strlen(line);
  line[len++] = '\n';
  (void)!write(STDERR_FILENO, line, len);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* NYINIT_ROOT + path; a path too long for PATH_MAX becomes "" (every open of it fails). */
static const char *rooted(char *out, const char *path) {
  if (snprintf(out, PATH_MAX, "%s%s", cfg.root, path) >= PATH_MAX) out[0] = '\0';
  return out;
}

static int env_int(const char *name, int fallback, int max) {
  const char *v = getenv(name);
  if (!v || !*v) return fallback;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < 0 || n > max) {
    say("%s=%s is not a number in 0..%d; using %d", name, v, max, fallback);
    return fallback;
  }
  return (int)n;
}

static void read_config(void) {
  const char *v;
  cfg.root = (v = getenv("NYINIT_ROOT")) ? v : "";
  cfg.node = (v = getenv("NYINIT_CHILD")) && *v ? v : "/usr/bin/node";
  cfg.data_device = (v = getenv("NYINIT_DATA_DEVICE")) && *v ? v : "/dev/disk/by-label/data";
  cfg.console = (v = getenv("NYINIT_CONSOLE")) ? v : "/dev/console";
  cfg.watchdog = (v = getenv("NYINIT_WATCHDOG")) ? v : "/dev/watchdog";
  cfg.test_reboot = (v = getenv("NYINIT_TEST_REBOOT")) && *v ? v : NULL;
  cfg.no_mount = (v = getenv("NYINIT_NO_MOUNT")) && strcmp(v, "1") == 0;
  cfg.watchdog_timeout = env_int("NYINIT_WATCHDOG_TIMEOUT", 0, 3600);
  cfg.watchdog_grace = env_int("NYINIT_WATCHDOG_GRACE", 30, 3600);
  cfg.node_timeout = env_int("NYINIT_NODE_TIMEOUT", 10, 600);
  cfg.trial_timeout = env_int("NYINIT_TRIAL_TIMEOUT", 90, 3600);
  if ((v = getenv("NYINIT_CTL")) && *v) snprintf(cfg.ctl, sizeof cfg.ctl, "%s", v);
  else rooted(cfg.ctl, "/run/nyinit.ctl");
}

static ssize_t read_file(const char *path, void *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, (char *)buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  close(fd);
  return (ssize_t)got;
}

/* A mount point is a directory on another device than its parent. */
static int is_mount_point(const char *path) {
  char parent[PATH_MAX];
  struct stat a, b;
  if (snprintf(parent, sizeof parent, "%s/..", path) >= (int)sizeof parent) return 0;
  return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static int mount_at(const char *src, const char *where, const char *type, unsigned long flags,
                    const char *opts) {
  char target[PATH_MAX];
  rooted(target, where);
  mkdir(target, 0755); /* the rootfs skeleton has them; a read-only root just says EROFS */
  if (is_mount_point(target)) return 0;
  if (mount(src, target, type, flags, opts) == 0) return 0;
  say("mount %s on %s (%s): %s", src, target, type, strerror(errno));
  return -1;
}

/* Without udev there is no /dev/disk/by-label: read each block device's ext4 superblock. */
static int find_by_label(const char *label, char *out, size_t size) {
  DIR *dir = opendir("/sys/class/block");
  if (!dir) return -1;
  struct dirent *e;
  int found = -1;
  while (found < 0 && (e = readdir(dir))) {
    unsigned char sb[1024];
    if (e->d_name[0] == '.' || snprintf(out, size, "/dev/%s", e->d_name) >= (int)size) continue;
    int fd = open(out, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    /* The superblock is at 1024: magic 0xEF53 (LE) at 0x38, 16-byte volume name at 0x78. */
    if (pread(fd, sb, sizeof sb, 1024) == (ssize_t)sizeof sb && sb[0x38] == 0x53 &&
        sb[0x39] == 0xEF && strlen(label) <= 16 && strncmp((char *)sb + 0x78, label, 16) == 0)
      found = 0;
    close(fd);
  }
  closedir(dir);
  return found;
}

static void mount_all(void) {
  char data[PATH_MAX];
  rooted(data, "/data");
  if (cfg.no_mount) {
    struct stat st;
    data_ok = stat(data, &st) == 0 && S_ISDIR(st.st_mode);
    return;
  }
  mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_at("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=10%");
  mount_at("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=25%");

  char device[PATH_MAX];
  const char *label = strrchr(cfg.data_device, '/');
  if (access(cfg.data_device, F_OK) == 0) {
    snprintf(device, sizeof device, "%s", cfg.data_device);
  } else if (strncmp(cfg.data_device, "/dev/disk/by-label/", 19) != 0 ||
             find_by_label(label + 1, device, sizeof device) != 0) {
    mkdir(data, 0755);
    data_ok = is_mount_point(data); /* the initramfs may have mounted it already */
    if (!data_ok) say("no data partition: %s not found", cfg.data_device);
    return;
  }
  data_ok = mount_at(device, "/data", "ext4", MS_NOATIME | MS_NODEV | MS_NOSUID, "") == 0;
}

static void unmount_all(void) {
  static const char *const targets[] = {"/data", "/tmp", "/run"};
  if (cfg.no_mount) return;
  for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
    char target[PATH_MAX];
    rooted(target, targets[i]);
    if (!is_mount_point(target)) continue;
    if (umount2(target, 0) == 0) {
      say("unmounted %s", targets[i]);
      continue;
    }
    /* Still busy (a process we could not kill): read-only is as good for the card. */
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0)
      say("cannot unmount or remount %s read-only: %s", target, strerror(errno));
  }
}

static void open_console(void) {
  if (!*cfg.console) return;
  /* O_NOCTTY: a ^C on the serial line must not reach nyinit or Node as SIGINT. */
  int fd = open(cfg.console, O_RDWR | O_NOCTTY);
  if (fd < 0) {
    say("open %s: %s", cfg.console, strerror(errno));
    return;
  }
  dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
  if (fd > 2) close(fd);
}

/* A fresh seed from the pool (which already holds the old one), replaced atomically. */
static void save_seed(int urandom) {
  char path[PATH_MAX], tmp[PATH_MAX + 4];
  unsigned char seed[SEED_LEN];
  rooted(path, "/data/.random-seed");
  snprintf(tmp, sizeof tmp, "%s.new", path);
  if (read(urandom, seed, sizeof seed) != (ssize_t)sizeof seed) return;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int ok = fd >= 0 && write(fd, seed, sizeof seed) == (ssize_t)sizeof seed && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp, path) != 0) say("cannot write %s: %s", path, strerror(errno));
  explicit_bzero(seed, sizeof seed);
}

static void seed_entropy(void) {
  char path[PATH_MAX];
  unsigned char old[SEED_LEN];
  ssize_t n = read_file(rooted(path, "/data/.random-seed"), old, sizeof old);
  int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    say("open /dev/urandom: %s", strerror(errno));
    return;
  }
  /* Mix the old seed in uncredited, and replace it before crediting it: should the power
   * fail after this, the next boot finds a different seed, never the one credited now. */
  if (n > 0) (void)!write(fd, old, n);
  save_seed(fd);
  if (n > 0) {
    union {
      struct rand_pool_info info;
      unsigned char raw[sizeof(struct rand_pool_info) + SEED_LEN];
    } entropy;
    entropy.info.entropy_count = (int)n * 8;
    entropy.info.buf_size = (int)n;
    memcpy(entropy.raw + sizeof(struct rand_pool_info), old, n);
    if (ioctl(fd, RNDADDENTROPY, &entropy) == 0) say("entropy: credited %zd bytes of seed", n);
    else say("entropy: seed mixed in, not credited (%s)", strerror(errno));
    explicit_bzero(&entropy, sizeof entropy);
  }
  explicit_bzero(old, sizeof old);
  close(fd);
}

static void set_hostname(void) {
  char path[PATH_MAX], name[65] = "";
  ssize_t n = data_ok ? read_file(rooted(path, "/data/config/hostname"), name, 64) : -1;
  name[n > 0 ? n : 0] = '\0';
  name[strcspn(name, "\r\n")] = '\0';
  /* Letters, digits, '-', '.', not starting with '-': anything else is not a hostname. */
  int valid = name[0] && name[0] != '-' && name[0] != '.';
  for (char *c = name; *c; c++)
    if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') && !(*c >= '0' && *c <= '9') &&
        *c != '-' && *c != '.')
      valid = 0;
  if (!valid) strcpy(name, "nymote");
  if (sethostname(name, strlen(name)) != 0) say("sethostname %s: %s", name, strerror(errno));
}

static void loopback_up(void) {
  struct ifreq ifr = {0};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) say("lo: %s", strerror(errno));
  }
  close(fd);
}

/* 'a' or 'b' from `"key": "b"` in state.json; no JSON parser, just that; 0 when absent. */
static char state_slot(const char *json, const char *key) {
  size_t len = strlen(key);
  for (const char *p = json; (p = strstr(p, key)); ) {
    p += len;
    if (p - len == json || p[-len - 1] != '"' || *p != '"') continue;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != ':') continue; /* the key as a value */
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (p[0] == '"' && (p[1] == 'a' || p[1] == 'b') && p[2] == '"') return p[1];
    return 0;
  }
  return 0;
}

static ssize_t read_state(char *json, size_t size) {
  char path[PATH_MAX];
  ssize_t n = read_file(rooted(path, "/data/firmware/state.json"), json, size - 1);
  json[n > 0 ? n : 0] = '\0';
  return n;
}

static int read_trial_starts(void) {
  char path[PATH_MAX], text[16];
  ssize_t n = read_file(rooted(path, "/data/firmware/trial-starts"), text, sizeof text - 1);
  text[n > 0 ? n : 0] = '\0';
  int count = atoi(text);
  return count > 0 ? count : 0;
}

/* "3\n", or "3 timeout\n" when the last start missed its deadline (Node says which in its
 * record of the revert). Durably, as the rest of /data is written: temp file, fsync, rename,
 * fsync the directory. */
static void write_trial_starts(int count, const char *why) {
  char path[PATH_MAX], temp[PATH_MAX], dir[PATH_MAX], text[32];
  rooted(path, "/data/firmware/trial-starts");
  rooted(temp, "/data/firmware/.trial-starts.tmp");
  rooted(dir, "/data/firmware");
  int len = snprintf(text, sizeof text, "%d%s%s\n", count, *why ? " " : "", why);
  int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text, len) != len || fsync(fd) != 0 || close(fd) != 0 ||
      rename(temp, path) != 0) {
    say("%s: %s", path, strerror(errno));
    return;
  }
  if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) fsync(fd), close(fd);
}

/* Whether the initramfs booted an OS slot that is on trial. */
static int os_trial(void) {
  const char *value = getenv("NYMOTE_OS_TRIAL");
  return value && strcmp(value, "1") == 0;
}

static void request(enum action action, const char *arg);

/* The slot to start: the active one, unless its trial has run out of starts (0: none, a reboot
 * was requested). */
static char choose_slot(void) {
  char json[4096];
  ssize_t n = read_state(json, sizeof json);
  char active = state_slot(json, "active"), trial = state_slot(json, "trial");
  trial_slot = 0;
  if (!active) {
    if (n > 0) say("state.json: no valid \"active\"; using slot a");
    return 'a';
  }
  if (trial != active) return active;
  int starts = read_trial_starts();
  char other = active == 'a' ? 'b' : 'a';
  if (starts >= MAX_TRIAL_STARTS) {
    if (os_trial()) {
      say("reverted: the update in slot %c failed its trial (%d starts); rebooting to the committed "
          "OS", active, starts);
      request(REBOOT, NULL);
      return 0;
    }
    say("reverted: the update in slot %c failed its trial (%d starts); starting slot %c", active,
        starts, other);
    return other;
  }
  write_trial_starts(starts + 1, "");
  trial_slot = active;
  say("slot %c on trial: start %d of %d, to be committed within %d s", active, starts + 1,
      MAX_TRIAL_STARTS, cfg.trial_timeout);
  return active;
}

/* A trial start that is not committed in time ends its trial: SIGTERM, then SIGKILL. */
static void trial_tick(long long now) {
  if (!node_pid || !trial_slot || now < trial_deadline) return;
  char json[4096];
  read_state(json, sizeof json);
  if (state_slot(json, "trial") != trial_slot) { /* committed, or reverted by Node itself */
    trial_slot = 0;
    return;
  }
  if (trial_stopping) {
    kill(-node_group, SIGKILL);
    trial_deadline = now + 1000;
    return;
  }
  say("slot %c was not committed within %d s: stopping it, its trial has failed", trial_slot,
      cfg.trial_timeout);
  write_trial_starts(MAX_TRIAL_STARTS, "timeout");
  kill(node_pid, SIGTERM);
  trial_stopping = 1;
  trial_deadline = now + cfg.node_timeout * 1000LL;
}

/* The words after `node` on index.js's shebang line; only --options are taken. */
static int node_flags(const char *index_js, char *line, size_t size, char **flags) {
  ssize_t n = read_file(index_js, line, size - 1);
  line[n > 0 ? n : 0] = '\0';
  char *end = strchr(line, '\n');
  if (strncmp(line, "#!", 2) != 0 || (!end && n == (ssize_t)size - 1)) return 0;
  if (end) *end = '\0';
  int count = 0, after_node = 0;
  for (char *word = strtok(line + 2, " \t\r"); word; word = strtok(NULL, " \t\r")) {
    size_t len = strlen(word);
    if (!after_node) after_node = strcmp(word, "node") == 0 || (len > 5 && !strcmp(word + len - 5, "/node"));
    else if (strncmp(word, "--", 2) == 0 && count < MAX_FLAGS) flags[count++] = word;
    else say("%s: ignoring shebang word %s", index_js, word);
  }
  return count;
}

static void start_node(void) {
  char index_js[PATH_MAX], rel[64], line[512];
  char *argv[MAX_FLAGS + 4];
  char slot = choose_slot(), slot_name[2] = {slot, '\0'};
  if (!slot) return;
  snprintf(rel, sizeof rel, "/data/firmware/%c/index.js", slot);
  setenv("NYMOTE_SLOT", slot_name, 1);
  rooted(index_js, rel);
  int argc = 0;
  argv[argc++] = (char *)cfg.node;
  argc += node_flags(index_js, line, sizeof line, argv + argc);
  argv[argc++] = index_js;
  argv[argc++] = "run";
  argv[argc] = NULL;

  long long now = now_ms();
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the blocked mask survives exec */
    setsid(); /* its own process group: shutdown can signal Node and its helpers at once */
    execv(argv[0], argv);
    say("exec %s: %s", argv[0], strerror(errno));
    _exit(127);
  }
  if (pid < 0) {
    say("fork: %s", strerror(errno));
    restart_at = now + backoff_ms;
    return;
  }
  node_pid = node_group = pid;
  node_started = now;
  trial_stopping = 0;
  trial_deadline = trial_slot ? now + cfg.trial_timeout * 1000LL : -1;
  if (wd_deadline < now + cfg.watchdog_grace * 1000LL) wd_deadline = now + cfg.watchdog_grace * 1000LL;
  say("started %s (pid %d): %s", argv[0], pid, index_js);
}

static void request(enum action action, const char *arg) {
  if (pending != NONE || shutting_down) return; /* the first request wins */
  pending = action;
  snprintf(pending_arg, sizeof pending_arg, "%s", arg ? arg : "");
}

static void node_exited(int status) {
  long long now = now_ms();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (WIFSIGNALED(status)) say("node (pid %d) killed by signal %d", node_pid, WTERMSIG(status));
  else say("node (pid %d) exited with %d", node_pid, code);
  node_pid = 0;
  if (shutting_down) return;
  if (code == EXIT_REBOOT || code == EXIT_POWEROFF || code == EXIT_HALT) {
    request(code == EXIT_REBOOT ? REBOOT : code == EXIT_POWEROFF ? POWEROFF : HALT, NULL);
    return;
  }
  if (now - node_started >= STABLE_MS || code == EXIT_RESTART) backoff_ms = BACKOFF_MIN_MS;
  if (code == EXIT_RESTART) {
    restart_at = now;
    return;
  }
  restart_at = now + backoff_ms;
  say("restarting node in %lld ms", backoff_ms);
  backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
}

/* Every zombie, ours or an orphan's; remembers whether any child is left. */
static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    if (pid == node_pid) node_exited(status);
  children_left = !(pid < 0 && errno == ECHILD);
}

static void read_signals(void) {
  struct signalfd_siginfo si;
  while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGTERM) request(REBOOT, NULL);
    else if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGPWR) request(HALT, NULL);
    else if (si.ssi_signo == SIGUSR2) request(POWEROFF, NULL);
    /* SIGCHLD: reap() runs after every wake-up */
  }
}

static void open_ctl(void) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", cfg.ctl);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) *slash = '\0', mkdir(dir, 0755);
  unlink(cfg.ctl);
  if (mkfifo(cfg.ctl, 0600) != 0) {
    say("mkfifo %s: %s", cfg.ctl, strerror(errno));
    return;
  }
  ctl_fd = open(cfg.ctl, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  /* Our own writer keeps the FIFO from reading EOF (a busy poll) between Node's writes. */
  ctl_keep = open(cfg.ctl, O_WRONLY | O_CLOEXEC);
  if (ctl_fd < 0 || ctl_keep < 0) say("open %s: %s", cfg.ctl, strerror(errno));
}

static void ctl_line(char *line) {
  size_t len = strlen(line);
  while (len && (line[len - 1] == ' ' || line[len - 1] == '\r')) line[--len] = '\0';
  if (strcmp(line, "alive") == 0) {
    wd_deadline = now_ms() + wd_timeout_ms;
  } else if (strcmp(line, "reboot") == 0 || strncmp(line, "reboot ", 7) == 0) {
    request(REBOOT, line[6] ? line + 7 : NULL);
  } else if (strcmp(line, "poweroff") == 0) {
    request(POWEROFF, NULL);
  } else if (strcmp(line, "halt") == 0) {
    request(HALT, NULL);
  } else {
    say("control: unknown request \"%.64s\"", line);
  }
}

/* Lines up to 127 bytes; a longer one is dropped whole, so a flood cannot grow a buffer. */
static void read_ctl(void) {
  static char line[128];
  static size_t used;
  static int overflow;
  char buf[256];
  ssize_t n;
  while ((n = read(ctl_fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') {
        line[used] = '\0';
        if (!overflow) ctl_line(line);
        used = 0, overflow = 0;
      } else if (used < sizeof line - 1) {
        line[used++] = buf[i];
      } else {
        overflow = 1;
      }
    }
  }
}

static void open_watchdog(void) {
  if (!*cfg.watchdog) return;
  wd_fd = open(cfg.watchdog, O_WRONLY | O_CLOEXEC);
  if (wd_fd < 0) {
    if (errno != ENOENT) say("open %s: %s", cfg.watchdog, strerror(errno));
    return;
  }
  int timeout = cfg.watchdog_timeout;
  if (timeout > 0 && ioctl(wd_fd, WDIOC_SETTIMEOUT, &timeout) != 0)
    say("%s: cannot set the timeout to %d s: %s", cfg.watchdog, timeout, strerror(errno));
  if (ioctl(wd_fd, WDIOC_GETTIMEOUT, &timeout) != 0 || timeout <= 0)
    timeout = cfg.watchdog_timeout > 0 ? cfg.watchdog_timeout : 10;
  wd_timeout_ms = timeout * 1000LL;
  wd_deadline = now_ms() + cfg.watchdog_grace * 1000LL;
  say("watchdog %s: timeout %d s, petted every %lld ms while node checks in", cfg.watchdog,
      timeout, wd_timeout_ms / 2);
}

/* Pets the watchdog when due, if Node checked in recently (or we are shutting down). */
static void watchdog_tick(long long now) {
  if (wd_fd < 0 || now < wd_next_pet) return;
  int allowed = shutting_down || now < wd_deadline;
  if (allowed && write(wd_fd, "k", 1) != 1) say("watchdog: write: %s", strerror(errno));
  if (allowed != wd_petting)
    say(allowed ? "node checks in again: petting the watchdog"
                : "no heartbeat from node: no longer petting the watchdog");
  wd_petting = allowed;
  wd_next_pet = now + wd_timeout_ms / 2;
}

static int wait_ms(long long now, long long until) {
  if (wd_fd >= 0 && wd_next_pet < until) until = wd_next_pet;
  if (node_pid && trial_slot && trial_deadline < until) until = trial_deadline;
  return until <= now ? 0 : until - now > INT_MAX ? INT_MAX : (int)(until - now);
}

/* During shutdown: wait for a condition or the deadline, still reaping and petting. */
static void wait_until(long long deadline, int (*done)(void)) {
  for (;;) {
    reap();
    long long now = now_ms();
    if (done() || now >= deadline) return;
    watchdog_tick(now);
    struct pollfd p = {.fd = sig_fd, .events = POLLIN};
    poll(&p, 1, wait_ms(now, deadline));
    read_signals(); /* drained; requests are ignored now */
  }
}
static int node_gone(void) { return node_pid == 0; }
static int all_gone(void) { return !children_left; }

static void kill_all(int sig) {
  /* kill(-1) as anything but PID 1 would hit every process of the user (a developer's
   * desktop, as root): then only Node's process group. */
  if (getpid() == 1) kill(-1, sig);
  else if (node_group > 0) kill(-node_group, sig);
}

__attribute__((noreturn)) static void shut_down(enum action action, const char *arg) {
  shutting_down = 1;
  say("%s%s%s requested", action_names[action], *arg ? " " : "", arg);
  if (node_pid) {
    kill(node_pid, SIGTERM); /* Node owns /data: it gets to close it first */
    wait_until(now_ms() + cfg.node_timeout * 1000LL, node_gone);
    if (node_pid) say("node did not stop within %d s", cfg.node_timeout);
  }
  kill_all(SIGTERM);
  wait_until(now_ms() + KILL_WAIT_MS, all_gone);
  kill_all(SIGKILL);
  wait_until(now_ms() + 1000, all_gone);
  close(ctl_fd), close(ctl_keep); /* open FIFO ends would keep /run busy */

  if (data_ok) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) save_seed(fd), close(fd);
  }
  sync();
  unmount_all();
  sync();
  /* Magic close: a driver without nowayout stops, so halt and power off stay down. */
  if (wd_fd >= 0 && (write(wd_fd, "V", 1) != 1 || close(wd_fd) != 0))
    say("watchdog: magic close: %s", strerror(errno));

  if (cfg.test_reboot) {
    FILE *f = fopen(cfg.test_reboot, "w");
    if (f) fprintf(f, "%s%s%s\n", action_names[action], *arg ? " " : "", arg), fclose(f);
    exit(0);
  }
  if (getpid() != 1) {
    say("not PID 1: not calling reboot(2)");
    exit(0);
  }
  if (action == REBOOT && *arg)
    syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART2, arg);
  else
    syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
            action == REBOOT ? LINUX_REBOOT_CMD_RESTART
            : action == POWEROFF ? LINUX_REBOOT_CMD_POWER_OFF : LINUX_REBOOT_CMD_HALT, NULL);
  say("reboot(2): %s", strerror(errno));
  for (;;) pause(); /* PID 1 must not exit: the kernel would panic */
}

int main(void) {
  /* Blocked at once and read through a signalfd: no handler races, and a PID 1 gets blocked
   * signals queued (unblocked ones with the default action are dropped for init). */
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD), sigaddset(&handled, SIGTERM), sigaddset(&handled, SIGUSR1);
  sigaddset(&handled, SIGUSR2), sigaddset(&handled, SIGPWR);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  sig_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) say("signalfd: %s (signals are not handled)", strerror(errno));

  read_config();
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans come to us, as to PID 1 */
  umask(022);
  if (chdir("/") != 0) say("chdir /: %s", strerror(errno));
  mount_all();
  open_console();
  say("starting (pid %d)", getpid());
  if (data_ok) seed_entropy();
  set_hostname();
  loopback_up();
  open_ctl();
  open_watchdog();

  char data[PATH_MAX];
  setenv("NYINIT_CTL", cfg.ctl, 1);
  if (!getenv("NYMOTE_DATA")) setenv("NYMOTE_DATA", rooted(data, "/data"), 1);
  if (!getenv("NYMOTE_MODE")) setenv("NYMOTE_MODE", "device", 1);
  if (!getenv("PATH")) setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
  if (data_ok) restart_at = now_ms();
  else say("no /data: not starting node");

  while (pending == NONE) {
    long long now = now_ms();
    if (!node_pid && restart_at >= 0 && now >= restart_at) {
      restart_at = -1;
      start_node();
      if (pending != NONE) break; /* it asked for a reboot instead */
    }
    watchdog_tick(now);
    trial_tick(now);
    long long until = restart_at >= 0 && !node_pid ? restart_at : now + 60000;
    struct pollfd fds[2] = {{.fd = sig_fd, .events = POLLIN}, {.fd = ctl_fd, .events = POLLIN}};
    if (poll(fds, ctl_fd >= 0 ? 2 : 1, wait_ms(now, until)) > 0) {
      if (fds[0].revents) read_signals();
      if (ctl_fd >= 0 && fds[1].revents) read_ctl();
    }
    reap();
  }
  shut_down(pending, pending_arg);
}
