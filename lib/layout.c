/*
 * layout.c - the whole disk, its partitions and their filesystems (see
 * layout.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "layout.h"

#define LAYOUT_HEAD	(2 << 20)	/* read of a container's range */

int layout_read(struct img *im, struct layout *l, char *err, size_t errlen)
{
	uint64_t at;
	int fd, e, i;

	memset(l, 0, sizeof(*l));
	l->size = img_size(im);
	e = img_view(im, 0, l->size, LAYOUT_HEAD, &fd, &at, err, errlen);
	if (e)
		return e;
	l->fs_err = probe_fs(fd, at, l->size, &l->fs);
	e = parts_read(fd, at, l->size, &l->table);
	close(fd);
	if (l->fs_err != -ENOENT && l->fs_err != -EEXIST && l->fs_err)
		e = l->fs_err;
	if (e) {
		snprintf(err, errlen, "probing: %s", strerror(-e));
		return e;
	}
	for (i = 0; i < l->table.n; i++) {
		const struct part *p = &l->table.p[i];

		if (p->container || !p->size || p->start >= l->size)
			continue;
		e = img_view(im, p->start, p->size <= l->size - p->start ?
			     p->size : l->size - p->start, LAYOUT_HEAD, &fd,
			     &at, err, errlen);
		if (e)
			return e;
		probe_fs(fd, at, p->size, &l->pfs[i]);
		close(fd);
	}
	return 0;
}

int layout_find(const struct layout *l, int num, const char *name)
{
	int i;

	for (i = 0; i < l->table.n; i++)
		if (num > 0 ? l->table.p[i].num == num :
		    strcmp(l->table.p[i].name, name) == 0)
			return i;
	for (i = 0; num <= 0 && i < l->table.n; i++)
		if (l->pfs[i].label[0] && strcmp(l->pfs[i].label, name) == 0)
			return i;
	return -1;
}

const char *layout_human(uint64_t n, char *buf, size_t cap)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (u < 4 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	if (u < 4 && n >= 10240) {	/* not a round number: roughly */
		snprintf(buf, cap, "%.1f %s", n / 1024.0, unit[u + 1]);
		return buf;
	}
	snprintf(buf, cap, "%llu %s", (unsigned long long)n, unit[u]);
	return buf;
}

void layout_seen(const struct layout *l, const char *form, char *buf,
		 size_t cap)
{
	char h[32];
	size_t len;
	int i;

	len = snprintf(buf, cap, "%s, %s", form,
		       layout_human(l->size, h, sizeof(h)));
	if (l->fs_err == -EEXIST && len < cap)
		len += snprintf(buf + len, cap - len, ", signatures of more "
				"than one filesystem");
	if (!l->table.type[0]) {
		if (len < cap)
			snprintf(buf + len, cap - len, ", no partition table");
		return;
	}
	if (len < cap)
		len += snprintf(buf + len, cap - len, ", %s partition table",
				l->table.type);
	for (i = 0; i < l->table.n && len < cap; i++) {
		const struct part *p = &l->table.p[i];

		len += snprintf(buf + len, cap - len, "%s partition %d (%s, %s): "
				"%s", i ? ";" : ":", p->num, p->type[0] ?
				p->type : "?", layout_human(p->size, h, sizeof(h)),
				p->container ? "container" : l->pfs[i].type[0] ?
				l->pfs[i].type : "unknown");
	}
	if (!l->table.n && len < cap)
		snprintf(buf + len, cap - len, " with no partitions");
}
