/*
 * ns.h - a mount table: several sources joined into one tree.
 *
 * Pure path logic, no FUSE, no QEMU, no 9P: what `qemount mount --table`
 * and `--bind` build, and what the FUSE front end asks when it looks a
 * name up.  The rules:
 *
 *   - a mountpoint is an absolute path; "//", "." and a trailing "/" are
 *     normalised away, ".." is refused; each mountpoint appears once, and
 *     one of them is "/";
 *   - the mount that serves a path is the one with the longest mountpoint
 *     that is a prefix of it on whole components ("/boot" serves
 *     "/boot/x", never "/bootleg"); ".." in a looked-up path is applied
 *     to the joined tree, so ".." from a mounted root leads back to the
 *     filesystem below;
 *   - a mountpoint must exist as a directory in the filesystem below it
 *     (ns_check); the FUSE front end shows that directory's owner and
 *     permissions on the mounted root, so they decide who may change it.
 *
 * The lookup is a trie over path components whose children are kept
 * sorted (binary search): a path costs its depth times log(fan-out),
 * whatever the number of mounts.
 *
 * The table text is fstab-like, one mount per line:
 *
 *     SOURCE  MOUNTPOINT  [TYPE  [OPTIONS  [DUMP  [PASS]]]]
 *
 * with '#' comments and blank lines; \040 \011 \012 \134 (octal) escape
 * a space, tab, newline or backslash in a field; TYPE "auto" or "-"
 * means detect; OPTIONS "defaults" or "-" means none.  DUMP and PASS are
 * accepted and ignored.  Options are kept as text for the caller.
 */
#ifndef QEMOUNT_NS_H
#define QEMOUNT_NS_H

#include <stddef.h>

struct ns;
struct ns_node;

struct ns_mount {
	char *path;		/* normalised mountpoint: "/" or "/a/b" */
	char *source;		/* image path or URL, as given */
	char *type;		/* filesystem type; NULL: detect */
	char *opts;		/* comma-separated options; "" if none */
	int line;		/* line in the table; 0 for a --bind */
	void *data;		/* the caller's, never touched here */
	struct ns_node *node;	/* where it sits in the trie */
};

/* ns_new - an empty table.  0 and *out, or -ENOMEM. */
int ns_new(struct ns **out);

/* ns_free - release n and every mount's strings (not their data). */
void ns_free(struct ns *n);

/*
 * ns_add - one mount of source on path.  type and opts may be NULL.
 * Returns 0, or -EINVAL (a relative path, "..", an empty source), -EEXIST
 * (path is already a mountpoint) or -ENOMEM, with a reason in err.
 */
int ns_add(struct ns *n, const char *path, const char *source,
	   const char *type, const char *opts, char *err, size_t errlen);

/*
 * ns_parse_table - add every line of text (the table format above).
 * name is the table's name for messages.  Returns 0, or -errno with
 * "NAME:LINE: why" in err; on error some lines may have been added.
 */
int ns_parse_table(struct ns *n, const char *text, const char *name,
		   char *err, size_t errlen);

/*
 * ns_parse_bind - add one PATH=SOURCE[:OPTIONS].  The text after the
 * last ':' is taken as options only if it holds no '/' (so a URL keeps
 * its colons) and only letters, digits and "=,_.-".  Returns as ns_add.
 */
int ns_parse_bind(struct ns *n, const char *arg, char *err, size_t errlen);

/* ns_count - how many mounts; ns_mount_at - the i-th, parents first. */
size_t ns_count(const struct ns *n);
struct ns_mount *ns_mount_at(const struct ns *n, size_t i);

/*
 * ns_resolve - the mount serving path (absolute; "." and ".." applied,
 * ".." never above "/") and, in rest (cap bytes), the path inside that
 * mount: "" for its root, else "a/b" with no leading '/'.  Returns the
 * mount, or NULL if none serves it (no "/" mount) or rest does not fit.
 */
struct ns_mount *ns_resolve(const struct ns *n, const char *path,
			    char *rest, size_t cap);

/*
 * ns_below - the mount whose tree holds m's mountpoint directory, and in
 * rest its path inside that mount.  NULL for the "/" mount.
 */
struct ns_mount *ns_below(const struct ns *n, const struct ns_mount *m,
			  char *rest, size_t cap);

/*
 * ns_check - the table is usable: it has a "/" mount, and each other
 * mountpoint is a directory in the mount below it, which isdir(arg, m,
 * below, rest) tells for mount m (0: yes; -errno: no, e.g. -ENOENT or
 * -ENOTDIR).  Mounts are checked parents first.  Returns 0, or the first failure with a reason
 * in err.
 */
typedef int ns_isdir_fn(void *arg, struct ns_mount *m, struct ns_mount *below,
			const char *rest);
int ns_check(const struct ns *n, ns_isdir_fn *isdir, void *arg, char *err,
	     size_t errlen);

/*
 * The trie, for a front end that walks name by name.  A node is a
 * directory that is a mountpoint or lies on the way to one.  The nodes
 * live as long as n.
 */
struct ns_node *ns_root(const struct ns *n);
/* ns_child - the node for name under d, or NULL: an ordinary entry. */
struct ns_node *ns_child(const struct ns_node *d, const char *name);
/* ns_node_mount - the mount on this node, or NULL. */
struct ns_mount *ns_node_mount(const struct ns_node *d);
/* ns_node_parent - the parent node; the root's parent is the root. */
struct ns_node *ns_node_parent(const struct ns_node *d);

#endif
