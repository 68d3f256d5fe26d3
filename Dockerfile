# Dockerfile - qemount/qemount: the qemount tool, QEMU and the default
# guest (linux-6.1), as an OCI image.  From the top of the tree:
#
#   docker build $(docker/build-args) -t qemount/qemount .
#   docker run -i --rm --network none qemount/qemount tar - < disk.img > disk.tar
#
# (make oci builds it and the images in docker/ with buildah; see
# docker/README.md.)  Two stages: build, the tool and the guest from
# source in a full Debian; and the runtime, Debian slim with
# qemu-system-x86, qemu-utils, tini and the tool's libraries.  The guest
# and the tool are two layers, the tool on top: a change to the tool
# leaves the guest layer as it was.  Runs as an unprivileged user; uses
# /dev/kvm when given (--device /dev/kvm --group-add <its gid>), TCG
# otherwise.

FROM debian:bookworm AS build
# The apt lists stay: the guest's build.sh resolves and downloads Debian's
# kernel package itself (apt-get download; nothing is installed).
RUN apt-get update -qq && \
    apt-get install -y -qq --no-install-recommends \
	gcc libc6-dev make pkg-config libarchive-dev libblkid-dev libfuse3-dev \
	binutils ca-certificates cpio gzip kmod musl-tools xz-utils zstd \
	> /dev/null
WORKDIR /src
# The guest first: it needs only its own folder and the 9P server, so a
# change to the tool does not rebuild it.
COPY lib/p9/ lib/p9/
COPY guests/linux-6.1/ guests/linux-6.1/
RUN guests/linux-6.1/build.sh /out/usr/share/qemount/guests/linux-6.1 && \
    rm -rf /out/usr/share/qemount/guests/linux-6.1/cache
# Then the rest of the context (.dockerignore lets only the sources in)
# in one layer: with the vfs storage driver every layer is a full copy.
COPY . ./
RUN make -s tools && \
    install -D -s build/bin/qemount /out/usr/bin/qemount && \
    ln -s qemount /out/usr/bin/qm-tar && ln -s qemount /out/usr/bin/qm-pack

FROM debian:bookworm-slim
# qemu (no recommends: no GUI, audio or firmware beyond what it needs),
# qemu-img for disk containers, the tool's libraries, tini; no apt lists.
# (The -slim base keeps documentation out: dpkg.cfg.d/docker.)  The user
# owns nothing: the tool reads standard input, writes standard output and
# spools to /var/tmp (mount a volume there for big images).
RUN apt-get update -qq && \
    apt-get install -y -qq --no-install-recommends \
	qemu-system-x86 qemu-utils libarchive13 libblkid1 libfuse3-3 tini \
	> /dev/null && \
    apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/* && \
    useradd --system --uid 999 --user-group --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin qemount
COPY --from=build /out/usr/share/qemount/ /usr/share/qemount/
COPY --from=build /out/usr/bin/ /usr/bin/
# C.UTF-8 (in glibc itself): libarchive converts names by the locale, and
# under plain C a non-ASCII name makes it fail.
ENV LANG=C.UTF-8
USER qemount
WORKDIR /tmp
# tini as PID 1 passes SIGTERM and SIGINT on and reaps: qemount's handler
# cleans up and re-raises the signal to die of it, which a namespace's
# PID 1 cannot (it would end by the interrupted call's error instead).
ENTRYPOINT ["/usr/bin/tini", "--", "qemount"]
CMD ["--help"]

# Labels last: a new version string rebuilds nothing above.  The values
# come from docker/build-args (the filesystems from the guest's manifest).
ARG VERSION=unknown
ARG SOURCE=
ARG FS_READ=
ARG FS_WRITE=
LABEL org.opencontainers.image.title="qemount" \
      org.opencontainers.image.description="Read and make filesystem images with a real kernel's own driver: qemount tar IMAGE > archive, qemount pack ARCHIVE --fs TYPE OUT (QEMU guest, 9P)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.qemount.guests="linux-6.1" \
      org.qemount.filesystems.read="${FS_READ}" \
      org.qemount.filesystems.write="${FS_WRITE}"
