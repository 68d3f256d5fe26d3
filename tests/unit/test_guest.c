/*
 * test_guest.c - the guest registry (lib/guest.h) over guest folders made
 * here: @priority decides, then the name, never the directory order; a
 * guest without its kernel is passed over; @machine and cmdline are read;
 * QEMOUNT_GUEST forces a guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "tap.h"

static char base[] = "/tmp/qemount-test-guest.XXXXXX";

static void put(const char *guest, const char *file, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, guest);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", base, guest, file);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* a guest folder with a kernel and an initrd */
static void guest(const char *name, const char *manifest)
{
	put(name, "manifest", manifest);
	put(name, "vmlinux", "");
	put(name, "initramfs.cpio", "");
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", base);
}

int main(void)
{
	struct guest g;
	char err[1024];
	int e;

	if (!mkdtemp(base)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	setenv("QEMOUNT_GUESTS", base, 1);
	unsetenv("QEMOUNT_GUEST");

	/* made in the order that would win if readdir order decided */
	guest("zz-slow", "# the Debian-like one\n@boot - m.ko\n"
	      "ext4 rw crc32c ext4\nvfat ro vfat\n");
	put("zz-slow", "cmdline", "# comment\nquiet\nfoo=1\n");
	guest("lean", "@priority 10\n@machine microvm,acpi=off\n"
	      "ext4 ro CONFIG_EXT4_FS\n");
	put("unbuilt", "manifest", "@priority 99\next4 rw\n");
	guest("n-tie", "@priority 5\nudf ro\n");
	guest("m-tie", "@priority 5\nudf ro\n");

	e = guest_find("ext4", GUEST_READ, &g, err, sizeof(err));
	is(e, 0, "ext4 is served");
	ok(!strcmp(g.name, "lean"), "the higher @priority wins (got %s)", g.name);
	is(g.priority, 10, "priority read");
	ok(!strcmp(g.machine, "microvm,acpi=off"), "@machine read (got %s)",
	   g.machine);
	is(g.writable, 0, "lean reads ext4 only");

	e = guest_find("ext4", GUEST_WRITE, &g, err, sizeof(err));
	is(e, 0, "ext4 for writing is served");
	ok(!strcmp(g.name, "zz-slow"),
	   "writing: the guest that writes it, not one without a kernel "
	   "(got %s)", g.name);
	ok(!strcmp(g.machine, "microvm"), "default machine (got %s)",
	   g.machine);
	is(g.priority, 0, "default priority");
	ok(!strcmp(g.cmdline, "quiet foo=1"), "cmdline words (got '%s')",
	   g.cmdline);
	ok(strstr(g.kernel, "/zz-slow/vmlinux") != NULL, "kernel path");

	e = guest_find("vfat", GUEST_READ, &g, err, sizeof(err));
	ok(!e && !strcmp(g.name, "zz-slow"), "the rest stay with the other");

	e = guest_find("udf", GUEST_READ, &g, err, sizeof(err));
	ok(!e && !strcmp(g.name, "m-tie"), "equal priority: first by name "
	   "(got %s)", g.name);

	setenv("QEMOUNT_GUEST", "zz-slow", 1);
	e = guest_find("ext4", GUEST_READ, &g, err, sizeof(err));
	ok(!e && !strcmp(g.name, "zz-slow"), "QEMOUNT_GUEST forces a guest");
	setenv("QEMOUNT_GUEST", "lean", 1);
	e = guest_find("vfat", GUEST_READ, &g, err, sizeof(err));
	is(e, -ENOENT, "QEMOUNT_GUEST: a guest that does not serve it fails");
	ok(strstr(err, "lean") && strstr(err, "QEMOUNT_GUEST") &&
	   strstr(err, "vfat"), "and says why: %s", err);
	unsetenv("QEMOUNT_GUEST");

	e = guest_find("nosuchfs", GUEST_READ, &g, err, sizeof(err));
	is(e, -ENOENT, "unknown filesystem: -ENOENT");
	ok(strstr(err, "no guest reads nosuchfs") != NULL, "reason: %s", err);

	cleanup();
	return done_testing();
}
