/*
 * resolverctl: the control client of resolverd. It speaks the protocol of
 * resolver/control.h over the daemon's unix socket: one request line
 * ("resolverctl/1 COMMAND ARGS", plus the dump text for "load"), then it
 * prints what the daemon sends back, up to the status line, which decides
 * the exit status. Plain C and libc, nothing else.
 *
 * Exit status: 0 success; 1 the daemon reported an error, or could not be
 * reached; 2 usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PROTO          "resolverctl/1"
#define DEFAULT_SOCKET "/run/resolverd.ctl"
#define REQ_MAX        4000
#define VERSION        "0.1.0"

static const char *prog = "resolverctl";

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: resolverctl [-s SOCKET] [--tier NAME] COMMAND [ARGS]\n"
	    "\n"
	    "Commands:\n"
	    "  stats [--json] [--instances]   counters: queries, cache hits "
	    "and misses,\n"
	    "                                 upstream queries, timeouts, "
	    "answers by rcode...\n"
	    "  dump [--json] [--name SUFFIX] [--type TYPE]\n"
	    "                                 every cache entry, as a zone "
	    "file (or JSON\n"
	    "                                 lines) with its metadata in a "
	    "comment\n"
	    "  dump --infra [--json]          per upstream server: RTT, "
	    "timeouts, EDNS, lame\n"
	    "  load FILE                      put the entries of a dump back "
	    "into the cache\n"
	    "  lookup NAME [TYPE] [--json]    what the cache holds for NAME, "
	    "and the zone\n"
	    "                                 cut and servers a resolution "
	    "would start from,\n"
	    "                                 and the chain of trust (DS, "
	    "DNSKEY) cached for it\n"
	    "  flush NAME [TYPE]              remove NAME (all types, or TYPE) "
	    "from the cache\n"
	    "  flush --zone NAME              remove NAME and everything below "
	    "it\n"
	    "  flush --negative               remove every NXDOMAIN and NODATA "
	    "entry\n"
	    "  flush --all                    empty the cache\n"
	    "  trace NAME [TYPE] [--cold] [--json | --dot]\n"
	    "                                 resolve NAME now and show every "
	    "step; --cold\n"
	    "                                 as if the cache were empty (it "
	    "is not touched)\n"
	    "  reload                         reload the configuration (like "
	    "SIGHUP)\n"
	    "  tiers                          list the cache tier instances "
	    "and what\n"
	    "                                 each asks (or \"main\")\n"
	    "\n"
	    "With cache tiers: stats, dump, lookup and flush act on every tier "
	    "unless --tier\n"
	    "is given (stats as a table with a column per tier, dump with "
	    "tier=NAME on\n"
	    "every entry); load puts each entry back into the tier it names; "
	    "trace\n"
	    "starts at the first tier (or --tier), shows hit or miss and the "
	    "TTL left\n"
	    "at each tier below, the walk from the root when none has the "
	    "answer, and\n"
	    "the question passed up the chain.\n"
	    "A tier with count: N is N instances, NAME-1 .. NAME-N: --tier "
	    "NAME-K acts\n"
	    "on one, --tier NAME on all of them (stats summed; trace from "
	    "NAME-1);\n"
	    "stats --instances gives a column per instance instead of per "
	    "tier.\n"
	    "\n"
	    "Options:\n"
	    "  -s, --socket PATH   control socket (default " DEFAULT_SOCKET
	    ")\n"
	    "      --tier NAME     the cache tier or tier instance to act on "
	    "(default:\n"
	    "                      see above)\n"
	    "  -h, --help          this help\n"
	    "  -V, --version       print the version\n"
	    "\n"
	    "Exit status: 0 success, 1 error (reported by the daemon, or no "
	    "daemon),\n"
	    "2 usage error. See resolverctl(8).\n");
}

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see resolverctl --help)\n");
	return 2;
}

/* Check the command's arguments here, so that a typo is a usage error
 * even without a daemon. @return 0 or 2 after a message. */
static int
check_args(int argc, char **argv)
{
	const char *cmd = argv[0];
	int i, pos = 0;

	if (strcmp(cmd, "stats") == 0) {
		for (i = 1; i < argc; i++)
			if (strcmp(argv[i], "--json") != 0 &&
			    strcmp(argv[i], "--instances") != 0)
				return usage_error(
				    "usage: stats [--json] [--instances]");
		return 0;
	}
	if (strcmp(cmd, "dump") == 0) {
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0 ||
			    strcmp(argv[i], "--infra") == 0)
				continue;
			if ((strcmp(argv[i], "--name") == 0 ||
			        strcmp(argv[i], "--type") == 0) &&
			    i + 1 < argc) {
				i++;
				continue;
			}
			return usage_error(
			    "dump: unexpected argument '%s'", argv[i]);
		}
		return 0;
	}
	if (strcmp(cmd, "lookup") == 0) {
		if (argc > 2 && strcmp(argv[argc - 1], "--json") == 0)
			argc--;
		if (argc < 2 || argc > 3 || argv[1][0] == '-' ||
		    (argc == 3 && argv[2][0] == '-'))
			return usage_error(
			    "usage: lookup NAME [TYPE] [--json]");
		return 0;
	}
	if (strcmp(cmd, "flush") == 0) {
		if ((argc == 2 &&
		        (strcmp(argv[1], "--all") == 0 ||
		            strcmp(argv[1], "--negative") == 0)) ||
		    (argc == 3 && strcmp(argv[1], "--zone") == 0) ||
		    ((argc == 2 || argc == 3) && argv[1][0] != '-'))
			return 0;
		return usage_error("usage: flush NAME [TYPE] | --zone NAME | "
		                   "--negative | --all");
	}
	if (strcmp(cmd, "trace") == 0) {
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--cold") == 0 ||
			    strcmp(argv[i], "--json") == 0 ||
			    strcmp(argv[i], "--dot") == 0)
				continue;
			if (argv[i][0] == '-' || ++pos > 2)
				return usage_error("trace: unexpected argument "
				                   "'%s'",
				    argv[i]);
		}
		if (pos == 0)
			return usage_error("usage: trace NAME [TYPE] [--cold] "
			                   "[--json | --dot]");
		return 0;
	}
	if (strcmp(cmd, "load") == 0) {
		if (argc != 2)
			return usage_error("usage: load FILE");
		return 0;
	}
	if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "tiers") == 0) {
		if (argc != 1)
			return usage_error("%s takes no arguments", cmd);
		return 0;
	}
	return usage_error("unknown command '%s'", cmd);
}

static int
read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0, n;
	char *p;

	*buf = NULL;
	*len = 0;
	if (f == NULL)
		return -errno;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(*buf, cap);
			if (p == NULL) {
				fclose(f);
				return -ENOMEM;
			}
			*buf = p;
		}
		n = fread(*buf + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0)
			break;
	}
	n = ferror(f) ? 1 : 0;
	fclose(f);
	return n ? -EIO : 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", prog, path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	close(fd);
	if (e == ENOENT || e == ECONNREFUSED)
		fprintf(stderr,
		    "%s: cannot connect to %s: no resolverd is "
		    "running there (%s)\n",
		    prog, path, strerror(e));
	else if (e == EACCES || e == EPERM)
		fprintf(stderr,
		    "%s: cannot connect to %s: permission denied "
		    "(run as root or as the socket's owner)\n",
		    prog, path);
	else
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, path,
		    strerror(e));
	return -1;
}

/*
 * Print everything but the last line, which is the status line; it
 * decides the exit status.
 */
static int
read_answer(int fd)
{
	char *buf = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			p = realloc(buf, cap);
			if (p == NULL) {
				fprintf(stderr, "%s: out of memory\n", prog);
				free(buf);
				return 1;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: reading the answer: %s\n", prog,
			    strerror(errno));
			free(buf);
			return 1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* flush all complete lines but the last one */
		char *last = NULL, *prev = NULL;
		for (size_t i = 0; i < len; i++) {
			if (buf[i] == '\n') {
				prev = last;
				last = buf + i;
			}
		}
		if (prev != NULL) {
			size_t out = (size_t)(prev - buf) + 1;
			if (fwrite(buf, 1, out, stdout) != out) {
				free(buf);
				return 1;
			}
			memmove(buf, buf + out, len - out);
			len -= out;
		}
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	/* an answer without a final newline is cut short */
	p = strrchr(buf, '\n');
	if (p != NULL) {
		fwrite(buf, 1, (size_t)(p - buf) + 1, stdout);
		p++;
	} else {
		p = buf;
	}
	fflush(stdout);
	if (strcmp(p, PROTO " ok") == 0 || strncmp(p, PROTO " ok ", 17) == 0) {
		free(buf);
		return 0;
	}
	if (strncmp(p, PROTO " error ", sizeof(PROTO " error ") - 1) == 0) {
		fprintf(
		    stderr, "%s: %s\n", prog, p + sizeof(PROTO " error ") - 1);
	} else {
		if (*p)
			printf("%s\n", p);
		fprintf(stderr,
		    "%s: the daemon closed the connection before "
		    "the end of its answer\n",
		    prog);
	}
	free(buf);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *sock = getenv("RESOLVERCTL_SOCKET");
	const char *tier = NULL;
	char req[REQ_MAX + 64];
	char *payload = NULL;
	size_t plen = 0, rlen;
	int i, fd, rc;

	if (sock == NULL || *sock == '\0')
		sock = DEFAULT_SOCKET;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 ||
		    strcmp(argv[i], "--version") == 0) {
			printf(
			    "resolverctl %s (protocol %s)\n", VERSION, PROTO);
			return 0;
		}
		if ((strcmp(argv[i], "-s") == 0 ||
		        strcmp(argv[i], "--socket") == 0) &&
		    i + 1 < argc) {
			sock = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--tier") == 0 && i + 1 < argc) {
			tier = argv[++i];
			continue;
		}
		return usage_error("unknown option '%s'", argv[i]);
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	argv += i;
	argc -= i;
	/* --tier may also follow the command */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tier") != 0)
			continue;
		if (i + 1 >= argc)
			return usage_error("%s needs a name", "--tier");
		tier = argv[i + 1];
		memmove(&argv[i], &argv[i + 2],
		    (size_t)(argc - i - 2) * sizeof(*argv));
		argc -= 2;
		i--;
	}
	rc = check_args(argc, argv);
	if (rc != 0)
		return rc;
	for (i = 0; i < argc; i++)
		if (strpbrk(argv[i], " \t\n\r") != NULL || argv[i][0] == '\0')
			return usage_error("argument '%s' is empty or has "
			                   "white space",
			    argv[i]);
	if (strcmp(argv[0], "load") == 0) {
		rc = read_file(argv[1], &payload, &plen);
		if (rc < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[1],
			    strerror(-rc));
			return 1;
		}
		rlen =
		    (size_t)snprintf(req, sizeof(req), PROTO " load %zu", plen);
	} else {
		rlen = (size_t)snprintf(req, sizeof(req), PROTO);
		for (i = 0; i < argc && rlen < REQ_MAX; i++)
			rlen += (size_t)snprintf(
			    req + rlen, sizeof(req) - rlen, " %s", argv[i]);
	}
	if (tier != NULL && rlen < REQ_MAX)
		rlen += (size_t)snprintf(
		    req + rlen, sizeof(req) - rlen, " --tier %s", tier);
	if (rlen >= REQ_MAX) {
		free(payload);
		return usage_error("request too long");
	}
	req[rlen++] = '\n';
	signal(SIGPIPE, SIG_IGN);
	fd = connect_to(sock);
	if (fd < 0) {
		free(payload);
		return 1;
	}
	rc = write_all(fd, req, rlen);
	if (rc == 0 && payload != NULL)
		rc = write_all(fd, payload, plen);
	free(payload);
	if (rc < 0 && rc != -EPIPE) {
		fprintf(stderr, "%s: sending the request: %s\n", prog,
		    strerror(-rc));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	rc = read_answer(fd);
	close(fd);
	return rc;
}
