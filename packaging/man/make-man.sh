#!/usr/bin/env bash
# Writes getmfs.1.gz and getm.1.gz into OUT_DIR from the built program's own --help of every
# subcommand (so the pages cannot drift from the options), with the examples below.
# Usage: make-man.sh GETMFS_BINARY OUT_DIR VERSION
set -euo pipefail
bin="$1"
out="$2"
version="$3"
mkdir -p "$out"
date="$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)"

# --help text as a roff literal block: backslashes doubled, leading dots and quotes guarded.
literal() {
  printf '.nf\n'
  sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
  printf '.fi\n'
}

getmfs_page() {
  cat <<ROFF
.TH GETMFS 1 "$date" "getmfs $version" "User Commands"
.SH NAME
getmfs \\- signed URLs as verified, read-only files; fast, verified downloads
.SH SYNOPSIS
.B getmfs mount
.I MANIFEST MOUNTPOINT
[\\fIOPTIONS\\fR]
.br
.B getmfs get
.I URL
[\\fIFILE\\fR|\\fIDIR\\fR|\\fB-\\fR] [\\fIOPTIONS\\fR]
.br
.B getmfs unmount
|
.B status
|
.B reload
.I MOUNTPOINT
.br
.B mount -t fuse.getmfs
.I MANIFEST MOUNTPOINT
.B -o
.I OPTIONS
.SH DESCRIPTION
getmfs mounts the URLs of a manifest (urls.txt: one \\fIURL\\fR [\\fIPATH\\fR] [\\fBsize=\\fR\\fIN\\fR] [\\fBmd5=\\fR...] per line, or getm's JSON list) as read-only files: reads become prefetched HTTP range requests served by worker processes into a shared-memory cache, and each object's checksum is verified on completion. \\fBgetmfs get\\fR downloads one URL or a manifest with the same engine.
ROFF
  for sub in mount get unmount status reload; do
    printf '.SH "getmfs %s"\n' "$sub"
    "$bin" "$sub" --help | literal
  done
  cat <<'ROFF'
.SH EXAMPLES
.nf
getmfs mount urls.txt /mnt/data
samtools view /mnt/data/sample.bam chr1:1\-2000
getmfs status /mnt/data
getmfs reload /mnt/data          # fresh signed URLs from the manifest
getmfs unmount /mnt/data
getmfs mount urls.txt /mnt/data \-\-metrics\-addr 9100 \-\-refresh\-command 'sign\-urls'
mount \-t fuse.getmfs /etc/getmfs/data.txt /mnt/data \-o ro,allow_other,cache_size=2G
getmfs get 'https://bucket.s3.amazonaws.com/key?X\-Amz\-...' sample.bam
getmfs get \-\-manifest urls.txt \-O downloads/ \-\-continue\-after\-error
.fi
.SH "EXIT STATUS (get)"
0 downloaded and verified; 1 internal error; 2 bad arguments or manifest; 3 checksum mismatch; 4 the signed URL expired; 5 access refused; 6 not found; 7 network failure; 8 timeout; 9 the object changed; 10 local I/O.
.SH FILES
/etc/getmfs/NAME.env for the getmfs@NAME.service unit; /sbin/mount.fuse.getmfs, the mount(8) helper.
.SH "SEE ALSO"
.BR getm (1),
.BR mount.fuse3 (8),
.BR fusermount3 (1)
ROFF
}

getm_page() {
  cat <<ROFF
.TH GETM 1 "$date" "getmfs $version" "User Commands"
.SH NAME
getm \\- fast, verified downloads of data URLs; a drop-in for getm's command line
.SH SYNOPSIS
.B getm
.I URL
[\\fIFILE\\fR|\\fIDIR\\fR] [\\fIOPTIONS\\fR]
.br
.B getm \\-\\-manifest
.I getm-manifest.json
[\\fIOPTIONS\\fR]
.SH DESCRIPTION
getm is getmfs's download command under getm's name, with getm's own options (\\fB\\-cs\\fR, \\fB\\-ca\\fR, \\fB\\-m\\fR/\\fB\\-i\\fR, \\fB\\-c\\fR, \\fB\\-\\-filepath\\fR; \\fB\\-\\-concurrency\\fR counts files at once). It prints nothing on success, and getm's own lines on failure (\\fBERROR:getm.cli:{...,"status_code": N}\\fR, \\fBAssertionError: Checksum failed!\\fR) with URLs redacted, as pipelines such as Cromwell's DRS localizer expect.
.SH OPTIONS
ROFF
  "$bin" --help | literal
  cat <<'ROFF'
.SH EXAMPLES
.nf
getm 'https://storage.googleapis.com/b/o?X\-Goog\-Signature=...' \-O sample.cram
getm \-\-manifest getm\-manifest.json \-c
.fi
.SH "SEE ALSO"
.BR getmfs (1)
ROFF
}

getmfs_page | gzip -9n > "$out/getmfs.1.gz"
# getm's help comes from the program under its own name.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ln -s "$(readlink -f "$bin")" "$tmp/getm"
bin="$tmp/getm"
{ getm_page; } | gzip -9n > "$out/getm.1.gz"
