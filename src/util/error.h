// Errors on the data path: a kind (from the public API), a message, and the HTTP status
// when one was seen. Result<T> is the std::expected shape (C++20 lacks it).
#ifndef GETMFS_UTIL_ERROR_H_
#define GETMFS_UTIL_ERROR_H_

#include <getm/getm.hpp>

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace getmfs {

using getm::ErrorKind;

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  int http_status = 0;
  int error_number = 0;   // an errno chosen at the failure site (ENOENT, ENODATA...), else 0
};

// The errno a FUSE read returns for each kind (DESIGN.md invariant 5).
int ErrnoFor(ErrorKind kind);
// error.error_number when set, else ErrnoFor(error.kind).
int ErrnoOf(const Error& error);
// An error carrying a specific errno (for namespace errors such as ENOENT).
Error ErrnoError(int error_number, std::string message);
// The exit status of `getmfs get` for each kind (documented in the README).
int ExitCodeFor(ErrorKind kind);
ErrorKind KindFromName(const std::string& name, bool* ok);

[[noreturn]] void Throw(const Error& error);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                 // NOLINT(runtime/explicit)
  Result(Error error) : v_(std::move(error)) {}             // NOLINT(runtime/explicit)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }
  T ValueOrThrow() && {
    if (!ok()) Throw(error());
    return std::move(std::get<0>(v_));
  }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace getmfs

#endif  // GETMFS_UTIL_ERROR_H_
