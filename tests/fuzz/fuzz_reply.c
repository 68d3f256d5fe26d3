/*
 * fuzz_reply.c - libFuzzer target for the decoders the host runs on bytes
 * from the guest: p9_decode (every message, replies included) and
 * p9_dirent_next (Rreaddir payloads).  Properties: no crash or overread
 * (ASan, UBSan), and a frame that decodes re-encodes to the same bytes,
 * so the decoder accepts nothing it cannot account for byte by byte.
 */
#include <stdlib.h>
#include <string.h>

#include "p9.h"

static void walk_dirents(const uint8_t *data, size_t len)
{
	struct p9_dirent d;
	size_t pos = 0;
	int r;

	while ((r = p9_dirent_next(data, len, &pos, &d)) == 1) {
		if (d.name.len && d.name.s < (const char *)data)
			abort();
		(void)p9_name_ok(d.name);
	}
	if (r == 1 || pos > len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p9_msg m;
	uint8_t *out;
	int n;

	walk_dirents(data, size);
	if (p9_decode(data, size, &m) != 0)
		return 0;
	out = malloc(size + 1);
	if (!out)
		return 0;
	n = p9_encode(out, size + 1, &m);
	if (n != (int)size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	if (m.type == P9_RREADDIR)
		walk_dirents(m.u.rread.data, m.u.rread.count);
	return 0;
}
