/*
 * test_p9_diod.c - the 9P client against diod, an independent 9P2000.L
 * server, on an inherited socketpair: the shared suite passes there too,
 * so our client speaks real 9P2000.L and not only our own dialect.
 */
#include <string.h>
#include <unistd.h>

#include "p9suite.h"
#include "tap.h"

int main(void)
{
	char *dir = suite_tmpdir();
	struct p9_client *c = NULL;
	struct srv s;
	uint32_t root;
	int e;

	if (!dir || access("/usr/sbin/diod", X_OK) != 0) {
		ok(0, "diod is installed (scripts/install-deps)");
		return done_testing();
	}
	e = srv_start_diod(dir, &s);
	if (!e)
		e = p9_client_new(s.fd, s.fd, NULL, &c);
	if (!ok(e == 0, "diod answers Tversion (%d)", e))
		return done_testing();
	tap_diag("diod msize %u", p9_client_msize(c));
	ok(p9_client_msize(c) >= 8192 &&
	   p9_client_msize(c) <= P9_CLIENT_MSIZE, "msize negotiated down");
	suite_make_tree(dir, p9_client_msize(c));
	if (!ok(p9_attach(c, 0, dir, &root, NULL) == 0, "attach to the export"))
		return done_testing();
	suite_read(c, root, dir);
	suite_write(c, root, dir);
	suite_errors(c, root);
	p9_clunk(c, root);
	p9_client_free(c);
	srv_stop(&s);
	suite_rmtree(dir);
	strcat(dir, ".diod");
	suite_rmtree(dir);
	return done_testing();
}
