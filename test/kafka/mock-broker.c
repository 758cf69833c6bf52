/*
 * mock-broker: a Kafka-protocol broker for tests, built on the librdkafka mock
 * cluster (librdkafka-dev, rdkafka_mock.h). No real Kafka broker can be
 * installed on the build machines; this gives kafkajs a real wire-protocol
 * peer with fault injection. See DESIGN.md, "Kafka in tests on these machines".
 *
 * Build: gcc -O2 -Wall -Wextra -o .build/mock-broker test/kafka/mock-broker.c -lrdkafka
 * (test/kafka/mock-cluster.ts builds and drives it.)
 *
 * Usage: mock-broker --brokers N --topic NAME:PARTITIONS [--topic ...]
 *
 * Protocol (line based, stdout is reserved for it; librdkafka logs to stderr):
 *   start-up:  prints exactly one line "READY <bootstrap-servers>"
 *   then every stdin line is answered with exactly one line, "OK" or
 *   "ERR <reason>":
 *     broker-down ID | broker-up ID      (ID -1 = all brokers)
 *     request-errors APIKEY ERRCODE [ERRCODE...]
 *     leader TOPIC PARTITION BROKERID    (BROKERID -1 = leaderless)
 *     rtt BROKERID MS
 *     create-topic NAME PARTITIONS
 *     ping
 *   stdin EOF: destroys the cluster and exits 0.
 *
 * Brokers are numbered 1..N and listen on 127.0.0.1 (ephemeral ports).
 * Nothing is persisted: the cluster lives exactly as long as this process,
 * which also ends when its parent dies (Linux). The launcher reports broker 1
 * as controller (the mock itself says 0; see find_controller_id below) and
 * moves that role to a live broker when the controller is taken down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_BROKERS 32
#define MAX_TOPICS 256
#define MAX_PARTITIONS 10000
#define MAX_ERRCODES 256
/* Kafka's own limit on topic name length. */
#define MAX_TOPIC_NAME 249

static rd_kafka_mock_cluster_t *mcluster;
static int broker_cnt;
/* Our own view of which brokers are up (index = broker id), used only to move
 * the controller away from a downed broker (see controller_id_ptr). */
static int broker_up[MAX_BROKERS + 1];

static void usage(const char *why) {
        fprintf(stderr,
                "mock-broker: %s\n"
                "usage: mock-broker --brokers N --topic NAME:PARTITIONS "
                "[--topic NAME:PARTITIONS ...]\n"
                "  N: 1..%d, PARTITIONS: 1..%d\n",
                why, MAX_BROKERS, MAX_PARTITIONS);
        exit(2);
}

/* Strict decimal parse: the whole string must be a number within [min, max]. */
static int parse_long(const char *s, long min, long max, long *out) {
        char *end;
        long v;

        if (s == NULL || *s == '\0')
                return -1;
        errno = 0;
        v     = strtol(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* Kafka topic names: [a-zA-Z0-9._-], 1..249 chars. Checked here so a typo in
 * a test fails loudly instead of silently creating an odd topic. */
static int valid_topic_name(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > MAX_TOPIC_NAME)
                return 0;
        for (; *s; s++) {
                char c = *s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-'))
                        return 0;
        }
        return 1;
}

/*
 * Control calls (topic create, broker up/down, ...) are posted to the mock
 * cluster's thread through a queue whose wake-up can be lost when calls come
 * back to back: the call then stalls 1-4 s until the mock thread's poll times
 * out. Keeping at least 2 ms between calls avoided the stall in 300 start-ups
 * (DESIGN.md), so every call goes through pace() first.
 */
static void pace(void) {
        static struct timespec last;
        struct timespec now, wait;
        long elapsed_ns;

        clock_gettime(CLOCK_MONOTONIC, &now);
        elapsed_ns = (now.tv_sec - last.tv_sec) * 1000000000L +
                     (now.tv_nsec - last.tv_nsec);
        if (elapsed_ns >= 0 && elapsed_ns < 2000000L) {
                wait.tv_sec  = 0;
                wait.tv_nsec = 2000000L - elapsed_ns;
                while (nanosleep(&wait, &wait) == -1 && errno == EINTR)
                        ;
        }
        clock_gettime(CLOCK_MONOTONIC, &last);
}

/*
 * Controller id work-around.
 *
 * The mock (librdkafka 2.0.2) never sets its cluster's controller id, so its
 * Metadata responses report controller 0 while brokers are numbered from 1.
 * kafkajs looks the controller up by id and fails: admin calls that go to the
 * controller and, more importantly, the idempotent producer's InitProducerId
 * ("Controller broker with id 0 not found in the cached metadata").
 *
 * There is no public setter, but in every version of the mock's private
 * header (rdkafka_mock_int.h) we looked at, from early 1.x releases to the
 * current 2.x master, struct rd_kafka_mock_cluster_s starts with exactly
 * these three fields. Before touching anything we check that the
 * layout matches: the rk pointer must equal the handle we passed in, the id
 * must be a NUL-terminated printable string, and the controller id must be
 * unset (0 or -1). If any check fails (a future release changed the layout or
 * fixed the bug) the work-around is skipped and a note goes to stderr; the
 * cluster then works as before, minus controller-bound kafkajs calls.
 */
struct mock_cluster_prefix {
        char id[32];
        rd_kafka_t *rk;
        int32_t controller_id;
};

static int32_t *controller_id_ptr;

static void find_controller_id(rd_kafka_t *rk) {
        unsigned char *base = (unsigned char *)mcluster;
        char id[32];
        rd_kafka_t *stored_rk;
        int32_t controller;
        size_t i;

        /* memcpy, not a struct cast, to stay clear of strict aliasing. */
        memcpy(id, base + offsetof(struct mock_cluster_prefix, id), sizeof id);
        memcpy(&stored_rk, base + offsetof(struct mock_cluster_prefix, rk),
               sizeof stored_rk);
        memcpy(&controller,
               base + offsetof(struct mock_cluster_prefix, controller_id),
               sizeof controller);

        if (stored_rk != rk || rd_kafka_mock_cluster_handle(mcluster) != rk)
                goto skip;
        for (i = 0; i < sizeof id && id[i] != '\0'; i++)
                if (id[i] < 0x21 || id[i] > 0x7e)
                        goto skip;
        if (i == 0 || i == sizeof id)
                goto skip;
        if (controller >= 1 && controller <= broker_cnt)
                return; /* Already a real broker: nothing to fix. */
        if (controller != 0 && controller != -1)
                goto skip;

        controller_id_ptr =
            (int32_t *)(base + offsetof(struct mock_cluster_prefix,
                                        controller_id));
        return;

skip:
        fprintf(stderr,
                "mock-broker: note: unrecognised mock cluster layout, "
                "controller id left as reported by librdkafka %s\n",
                rd_kafka_version_str());
}

/* Makes the lowest-numbered broker that is up the controller, unless the
 * current one is up: like a real cluster electing a new controller when the
 * old one dies, so kafkajs keeps finding a reachable controller. The mock
 * thread reads the field without a lock while serving Metadata; an aligned
 * atomic 32-bit store cannot tear, and the next control call (a queue
 * round-trip through a mutex) publishes it in any case. */
static void elect_controller(void) {
        int32_t current;
        int id;

        if (controller_id_ptr == NULL)
                return;
        current = __atomic_load_n(controller_id_ptr, __ATOMIC_SEQ_CST);
        if (current >= 1 && current <= broker_cnt && broker_up[current])
                return;
        for (id = 1; id <= broker_cnt; id++) {
                if (broker_up[id]) {
                        __atomic_store_n(controller_id_ptr, (int32_t)id,
                                         __ATOMIC_SEQ_CST);
                        return;
                }
        }
        /* All brokers down: leave it; nobody can reach any of them anyway. */
}

static void exit_now(int sig) {
        (void)sig;
        _exit(0);
}

/*
 * Destroys the cluster and exits 0. rd_kafka_mock_cluster_destroy() stalls
 * for about 1 s in roughly half the runs (librdkafka 2.0.2: the mock thread
 * joins an internal broker thread that misses its wake-up and sleeps out its
 * 1 s timed wait), which would add a second to every test's stop(). So the
 * clean destroy gets 100 ms (it takes ~1 ms when it does not stall); after
 * that we _exit(0) and let the kernel close the sockets, which is all that
 * clients could observe of a destroy anyway.
 */
static void shutdown_and_exit(rd_kafka_t *rk) {
        struct itimerval deadline = {.it_value = {.tv_sec = 0,
                                                  .tv_usec = 100000}};

        fflush(stdout);
        signal(SIGALRM, exit_now);
        setitimer(ITIMER_REAL, &deadline, NULL);
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        exit(0);
}

static int replication_factor(void) {
        return broker_cnt < 3 ? broker_cnt : 3;
}

/* Writes one answer line. If the parent is gone, writing fails (SIGPIPE is
 * ignored) and we leave: there is nobody left to serve. */
static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        if (fflush(stdout) != 0 || ferror(stdout))
                shutdown_and_exit(rd_kafka_mock_cluster_handle(mcluster));
}

static void reply_err(rd_kafka_resp_err_t err) {
        if (err)
                reply("ERR %s (%d)", rd_kafka_err2str(err), (int)err);
        else
                reply("OK");
}

/* Broker ids accepted by commands: 1..N, or -1 for "all brokers" where the
 * mock supports it. Unknown ids are left to the mock to reject so the error
 * text is librdkafka's own. */
static int parse_broker_id(const char *s, long *id) {
        return parse_long(s, -1, INT32_MAX, id);
}

static void set_broker_state(long id, int up) {
        int i;

        if (id == -1) {
                for (i = 1; i <= broker_cnt; i++)
                        broker_up[i] = up;
        } else if (id >= 1 && id <= broker_cnt) {
                broker_up[id] = up;
        }
        elect_controller();
}

static void handle_command(char *line) {
        char *argv[MAX_ERRCODES + 4];
        char *save = NULL, *tok;
        int argc = 0;
        long a, b, c;
        rd_kafka_resp_err_t err;

        for (tok = strtok_r(line, " \t", &save); tok != NULL;
             tok = strtok_r(NULL, " \t", &save)) {
                if (argc == (int)(sizeof argv / sizeof argv[0])) {
                        reply("ERR too many arguments");
                        return;
                }
                argv[argc++] = tok;
        }
        if (argc == 0) {
                reply("ERR empty command");
                return;
        }

        if (!strcmp(argv[0], "ping")) {
                if (argc != 1) {
                        reply("ERR usage: ping");
                        return;
                }
                reply("OK");

        } else if (!strcmp(argv[0], "broker-down") ||
                   !strcmp(argv[0], "broker-up")) {
                int up = !strcmp(argv[0], "broker-up");
                if (argc != 2 || parse_broker_id(argv[1], &a)) {
                        reply("ERR usage: %s BROKERID", argv[0]);
                        return;
                }
                pace();
                err = up ? rd_kafka_mock_broker_set_up(mcluster, (int32_t)a)
                         : rd_kafka_mock_broker_set_down(mcluster, (int32_t)a);
                if (!err)
                        set_broker_state(a, up);
                reply_err(err);

        } else if (!strcmp(argv[0], "request-errors")) {
                rd_kafka_resp_err_t codes[MAX_ERRCODES];
                int i;
                if (argc < 3 || argc - 2 > MAX_ERRCODES ||
                    parse_long(argv[1], 0, INT16_MAX, &a)) {
                        reply("ERR usage: request-errors APIKEY ERRCODE "
                              "[ERRCODE...]");
                        return;
                }
                for (i = 2; i < argc; i++) {
                        /* Negative codes are librdkafka-internal, e.g. -195
                         * (__TRANSPORT) makes the broker drop the connection. */
                        if (parse_long(argv[i], -200, INT16_MAX, &b)) {
                                reply("ERR bad error code '%s'", argv[i]);
                                return;
                        }
                        codes[i - 2] = (rd_kafka_resp_err_t)b;
                }
                pace();
                rd_kafka_mock_push_request_errors_array(
                    mcluster, (int16_t)a, (size_t)(argc - 2), codes);
                reply("OK");

        } else if (!strcmp(argv[0], "leader")) {
                if (argc != 4 || !valid_topic_name(argv[1]) ||
                    parse_long(argv[2], 0, INT32_MAX, &a) ||
                    parse_broker_id(argv[3], &b)) {
                        reply("ERR usage: leader TOPIC PARTITION BROKERID");
                        return;
                }
                pace();
                reply_err(rd_kafka_mock_partition_set_leader(
                    mcluster, argv[1], (int32_t)a, (int32_t)b));

        } else if (!strcmp(argv[0], "rtt")) {
                if (argc != 3 || parse_broker_id(argv[1], &a) ||
                    parse_long(argv[2], 0, 3600000, &c)) {
                        reply("ERR usage: rtt BROKERID MS");
                        return;
                }
                pace();
                reply_err(rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a,
                                                       (int)c));

        } else if (!strcmp(argv[0], "create-topic")) {
                if (argc != 3 || !valid_topic_name(argv[1]) ||
                    parse_long(argv[2], 1, MAX_PARTITIONS, &a)) {
                        reply("ERR usage: create-topic NAME PARTITIONS");
                        return;
                }
                pace();
                reply_err(rd_kafka_mock_topic_create(
                    mcluster, argv[1], (int)a, replication_factor()));

        } else {
                reply("ERR unknown command '%s'", argv[0]);
        }
}

int main(int argc, char **argv) {
        const char *topic_args[MAX_TOPICS];
        int topic_cnt = 0;
        long brokers  = -1;
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        char *line = NULL;
        size_t line_cap = 0;
        ssize_t len;
        int i;

#ifdef __linux__
        /* The parent (a test process) may crash or be SIGKILLed without
         * closing our stdin cleanly; have the kernel signal us then. Check
         * the parent afterwards in case it died before prctl() ran. */
        {
                pid_t parent = getppid();
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 &&
                    getppid() != parent)
                        return 0;
        }
#endif
        /* A write to a closed pipe (parent gone, or a client socket the mock
         * writes to after the peer left) must be an error return, not a
         * process-killing signal. */
        signal(SIGPIPE, SIG_IGN);

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
                        if (parse_long(argv[++i], 1, MAX_BROKERS, &brokers))
                                usage("--brokers needs a number 1..32");
                } else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
                        if (topic_cnt == MAX_TOPICS)
                                usage("too many --topic options");
                        topic_args[topic_cnt++] = argv[++i];
                } else if (!strcmp(argv[i], "--help") ||
                           !strcmp(argv[i], "-h")) {
                        printf("usage: mock-broker --brokers N "
                               "--topic NAME:PARTITIONS [--topic ...]\n");
                        return 0;
                } else {
                        fprintf(stderr, "mock-broker: bad argument '%s'\n",
                                argv[i]);
                        usage("bad arguments");
                }
        }
        if (brokers < 1)
                usage("--brokers is required");

        /* Validate all topics before starting anything, so a bad argument
         * exits 2 without a half-started cluster. */
        for (i = 0; i < topic_cnt; i++) {
                const char *colon = strrchr(topic_args[i], ':');
                char name[MAX_TOPIC_NAME + 1];
                long parts;
                size_t n;

                if (colon == NULL)
                        usage("--topic needs NAME:PARTITIONS");
                n = (size_t)(colon - topic_args[i]);
                if (n == 0 || n > MAX_TOPIC_NAME)
                        usage("bad topic name");
                memcpy(name, topic_args[i], n);
                name[n] = '\0';
                if (!valid_topic_name(name))
                        usage("bad topic name (allowed: a-z A-Z 0-9 . _ -)");
                if (parse_long(colon + 1, 1, MAX_PARTITIONS, &parts))
                        usage("bad partition count");
        }
        broker_cnt = (int)brokers;

        /* The mock needs a client handle for its bookkeeping only; with no
         * bootstrap.servers it never connects anywhere. Warnings and errors
         * only, so stderr (captured by the test helper) stays small. */
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock-broker: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (rk == NULL) {
                fprintf(stderr, "mock-broker: rd_kafka_new: %s\n", errstr);
                return 1;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, broker_cnt);
        if (mcluster == NULL) {
                fprintf(stderr, "mock-broker: could not create mock cluster\n");
                rd_kafka_destroy(rk);
                return 1;
        }
        for (i = 1; i <= broker_cnt; i++)
                broker_up[i] = 1;

        /* Before the first control call, so its queue round-trip publishes
         * the new controller id to the mock thread before any client asks. */
        find_controller_id(rk);
        elect_controller();

        for (i = 0; i < topic_cnt; i++) {
                const char *colon = strrchr(topic_args[i], ':');
                char name[MAX_TOPIC_NAME + 1];
                size_t n = (size_t)(colon - topic_args[i]);
                long parts;
                rd_kafka_resp_err_t err;

                memcpy(name, topic_args[i], n);
                name[n] = '\0';
                parse_long(colon + 1, 1, MAX_PARTITIONS, &parts);
                pace();
                err = rd_kafka_mock_topic_create(mcluster, name, (int)parts,
                                                 replication_factor());
                if (err) {
                        fprintf(stderr,
                                "mock-broker: creating topic %s: %s\n", name,
                                rd_kafka_err2str(err));
                        rd_kafka_mock_cluster_destroy(mcluster);
                        rd_kafka_destroy(rk);
                        return 1;
                }
        }

        printf("READY %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        while ((len = getline(&line, &line_cap, stdin)) != -1) {
                while (len > 0 &&
                       (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                handle_command(line);
        }

        /* stdin EOF: the parent closed us (stop()) or is gone. */
        free(line);
        shutdown_and_exit(rk);
        return 0; /* not reached */
}
