/*
 * Opens N non-blocking TCP connections to ADDR:PORT and holds them for
 * SECONDS, so a listener's queues fill. Prints "connected K" when the
 * initial burst is out. Usage: snap_client ADDR PORT N SECONDS
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testlib.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int n, family;

	if (argc != 5) {
		fprintf(stderr, "usage: %s ADDR PORT N SECONDS\n", argv[0]);
		return 2;
	}
	n = atoi(argv[3]);
	if (strchr(argv[1], ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		family = AF_INET6;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(atoi(argv[2]));
		inet_pton(AF_INET6, argv[1], &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		family = AF_INET;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(atoi(argv[2]));
		inet_pton(AF_INET, argv[1], &s4->sin_addr);
		len = sizeof(*s4);
	}
	for (int i = 0; i < n; i++) {
		int fd;

		CHECK(fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0));
		if (connect(fd, (void *)&ss, len) && errno != EINPROGRESS)
			DIE("connect");
	}
	printf("connected %d\n", n);
	fflush(stdout);
	sleep(atoi(argv[4]));
	return 0;
}
