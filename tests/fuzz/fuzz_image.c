/*
 * fuzz_image.c - libFuzzer target for the parsers the host runs on the
 * image's own bytes before any guest boots: the own filesystem probes
 * (probe_own: Amiga boot block, Acorn ADFS, JFFS2 node) and the Amiga
 * Rigid Disk Block reader (parts_rdb).  Both are pure.  Properties: no
 * crash or overread (ASan, UBSan), and every result is bounded: strings
 * terminated inside their fields, partitions numbered and inside the
 * 64-bit byte range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parts.h"
#include "probe.h"

#define TERMINATED(a)	(memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_fs fs;
	struct parts t;
	int i;

	memset(&fs, 0xaa, sizeof(fs));
	if (probe_own(data, size, &fs) &&
	    (!TERMINATED(fs.type) || !fs.type[0] || !TERMINATED(fs.label) ||
	     !TERMINATED(fs.uuid) || !TERMINATED(fs.version) ||
	     !TERMINATED(fs.usage) || !fs.by))
		abort();
	memset(&t, 0xaa, sizeof(t));
	if (!parts_rdb(data, size, &t))
		return 0;
	if (!TERMINATED(t.type) || !TERMINATED(t.uuid) || t.n < 0 ||
	    t.n > PARTS_MAX)
		abort();
	for (i = 0; i < t.n; i++)
		if (t.p[i].num < 1 || !TERMINATED(t.p[i].type) ||
		    !TERMINATED(t.p[i].name) || !TERMINATED(t.p[i].uuid) ||
		    t.p[i].start + t.p[i].size < t.p[i].start)
			abort();
	return 0;
}
