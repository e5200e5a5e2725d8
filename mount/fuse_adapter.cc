// The FUSE low-level callbacks over fs::FileSystem, and the thread that tells the kernel what to forget.
#include "fuse_adapter.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "util/log.h"

namespace getmfs::mount {
namespace {

FuseAdapter& Adapter(fuse_req_t req) { return *static_cast<FuseAdapter*>(fuse_req_userdata(req)); }
fs::FileSystem& Fs(fuse_req_t req) { return Adapter(req).fs(); }

void ReplyError(fuse_req_t req, const Error& error) { fuse_reply_err(req, ErrnoOf(error)); }

// No exception may cross into libfuse: bad_alloc -> ENOMEM, anything else -> EIO.
template <class Fn>
void Guard(fuse_req_t req, Fn&& fn) {
  try {
    fn();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (const std::exception& e) {
    LOG(Error) << "internal error in a FUSE callback: " << e.what();
    fuse_reply_err(req, EIO);
  }
}

struct stat ToStat(const fs::Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 1 << 20;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_mtim.tv_sec = a.mtime;
  st.st_ctim.tv_sec = a.mtime;
  st.st_atim.tv_sec = a.mtime;
  return st;
}

void Init(void* userdata, fuse_conn_info* conn) {
  auto* adapter = static_cast<FuseAdapter*>(userdata);
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_AUTO_INVAL_DATA);   // objects are immutable
  if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA) conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_WRITEBACK_CACHE);
  // The kernel's own read-ahead: large, so sequential readers send 1 MiB requests; our
  // prefetcher goes further ahead.
  conn->max_readahead = 1 << 20;
  conn->max_read = 1 << 20;   // must equal the max_read mount option
  // The kernel's asynchronous read-ahead stops at the congestion threshold (default 9 of 12
  // background requests): with many readers that starves our prefetcher of requests to serve.
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (adapter->on_ready_) adapter->on_ready_();
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] {
    auto attr = Fs(req).Lookup(parent, name);
    if (!attr) return ReplyError(req, attr.error());
    fuse_entry_param e{};
    e.ino = attr->ino;
    e.attr = ToStat(*attr);
    e.attr_timeout = attr->timeout;
    e.entry_timeout = attr->timeout;
    fuse_reply_entry(req, &e);
  });
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Guard(req, [&] {
    auto attr = Fs(req).GetAttr(ino);
    if (!attr) return ReplyError(req, attr.error());
    struct stat st = ToStat(*attr);
    fuse_reply_attr(req, &st, attr->timeout);
  });
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, [&] {
    fs::FileSystem& filesystem = Fs(req);
    auto handle = filesystem.OpenDir(ino);
    if (!handle) return ReplyError(req, handle.error());
    fi->fh = *handle;
    if (fuse_reply_open(req, fi) == -ENOENT) filesystem.ReleaseDir(*handle);   // interrupted
  });
}

// Pages through the listing the directory handle took at opendir.
void ReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, [&] {
    auto entries = Fs(req).ReadDir(fi->fh);
    if (!entries) return ReplyError(req, entries.error());
    std::vector<char> buf(size);
    std::size_t used = 0;
    for (std::size_t i = static_cast<std::size_t>(off); i < (*entries)->size(); ++i) {
      const fs::DirEntry& entry = (**entries)[i];
      struct stat st = ToStat(entry.attr);
      std::size_t n = fuse_add_direntry(req, buf.data() + used, size - used, entry.name.c_str(), &st,
                                        static_cast<off_t>(i + 1));
      if (n > size - used) break;
      used += n;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

void ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guard(req, [&] {
    Fs(req).ReleaseDir(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, [&] {
    fs::FileSystem& filesystem = Fs(req);
    auto reply = filesystem.Open(ino, fi->flags);
    if (!reply) return ReplyError(req, reply.error());
    fi->fh = reply->handle;
    fi->keep_cache = reply->keep_cache;
    fi->direct_io = reply->direct_io;
    if (fuse_reply_open(req, fi) == -ENOENT) filesystem.Release(reply->handle);   // interrupted
  });
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, [&] {
    fs::FileSystem& filesystem = Fs(req);   // req is gone once replied to
    auto data = filesystem.Read(ino, fi->fh, static_cast<std::uint64_t>(off), size);
    if (!data) return ReplyError(req, data.error());
    // Reply straight from the shared memory, one iovec per cache block: fuse_reply_iov
    // writes them with one writev. (fuse_reply_data would first copy a multi-buffer vector
    // into a freshly allocated buffer.)
    std::vector<iovec> iov(data->pieces.size());
    for (std::size_t i = 0; i < data->pieces.size(); ++i) {
      iov[i].iov_base = const_cast<std::uint8_t*>(data->pieces[i].data);
      iov[i].iov_len = data->pieces[i].size;
    }
    fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
    filesystem.ReleaseRead(*data);
  });
}

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guard(req, [&] {
    Fs(req).Release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void StatFs(fuse_req_t req, fuse_ino_t) {
  Guard(req, [&] {
    struct statvfs st {};
    st.f_bsize = 1 << 20;
    st.f_frsize = 4096;
    st.f_blocks = (Fs(req).TotalBytes() + 4095) / 4096;
    st.f_files = Fs(req).FileCount();
    st.f_namemax = 255;
    st.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &st);
  });
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, [&] {
    auto value = Fs(req).GetXattr(ino, name);
    if (!value) return ReplyError(req, value.error());
    if (size == 0) return static_cast<void>(fuse_reply_xattr(req, value->size()));
    if (size < value->size()) return static_cast<void>(fuse_reply_err(req, ERANGE));
    fuse_reply_buf(req, value->data(), value->size());
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, [&] {
    auto names = Fs(req).ListXattr(ino);
    if (!names) return ReplyError(req, names.error());
    std::string all;
    for (const auto& n : *names) all.append(n).push_back('\0');
    if (size == 0) return static_cast<void>(fuse_reply_xattr(req, all.size()));
    if (size < all.size()) return static_cast<void>(fuse_reply_err(req, ERANGE));
    fuse_reply_buf(req, all.data(), all.size());
  });
}

// Every call that would change something: EROFS, with no side effect (invariant 7).
void SetAttr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void MkNod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EROFS); }
void MkDir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EROFS); }
void Unlink(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void RmDir(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void SymLink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void Rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) { fuse_reply_err(req, EROFS); }
void Link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void Write(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void Create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void SetXattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { fuse_reply_err(req, EROFS); }
void RemoveXattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void Fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.getattr = GetAttr;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.releasedir = ReleaseDir;
  ops.open = Open;
  ops.read = Read;
  ops.release = Release;
  ops.statfs = StatFs;
  ops.getxattr = GetXattr;
  ops.listxattr = ListXattr;
  ops.setattr = SetAttr;
  ops.mknod = MkNod;
  ops.mkdir = MkDir;
  ops.unlink = Unlink;
  ops.rmdir = RmDir;
  ops.symlink = SymLink;
  ops.rename = Rename;
  ops.link = Link;
  ops.write = Write;
  ops.create = Create;
  ops.setxattr = SetXattr;
  ops.removexattr = RemoveXattr;
  ops.fallocate = Fallocate;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& FuseAdapter::Operations() {
  static const fuse_lowlevel_ops ops = MakeOperations();
  return ops;
}

FuseAdapter::~FuseAdapter() { StopInvalidations(); }

void FuseAdapter::StopInvalidations() {
  invalidations_.Close();
  if (thread_.joinable()) thread_.join();
}

void FuseAdapter::StartInvalidations(fuse_session* session) {
  session_ = session;
  thread_ = std::thread([this] { InvalidationLoop(); });
}

void FuseAdapter::Queue(const fs::Invalidation& invalidation) { invalidations_.Push(invalidation); }

void FuseAdapter::InvalidationLoop() {
  while (auto inv = invalidations_.Pop()) {
    int rc;
    if (inv->kind == fs::Invalidation::kInode) {
      rc = fuse_lowlevel_notify_inval_inode(session_, inv->ino, 0, 0);
    } else {
      rc = fuse_lowlevel_notify_inval_entry(session_, inv->parent, inv->name.c_str(), inv->name.size());
    }
    if (rc != 0 && rc != -ENOENT) LOG(Debug) << "kernel invalidation failed: " << std::strerror(-rc);
  }
}

}  // namespace getmfs::mount
