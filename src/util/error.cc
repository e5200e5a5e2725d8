// Errors: the errno and `get` exit status of each kind.
#include "util/error.h"

#include <cstring>

namespace getm {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kIntegrity: return "integrity";
    case ErrorKind::kExpired: return "expired";
    case ErrorKind::kForbidden: return "forbidden";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kChanged: return "changed";
    case ErrorKind::kNetwork: return "network";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kBadInput: return "bad input";
    case ErrorKind::kIo: return "local i/o";
    case ErrorKind::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace getm

namespace getmfs {

int ErrnoFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kIntegrity: return EIO;
    case ErrorKind::kExpired: return EKEYEXPIRED;
    case ErrorKind::kForbidden: return EACCES;
    case ErrorKind::kNotFound: return ESTALE;   // it was there when probed
    case ErrorKind::kChanged: return ESTALE;
    case ErrorKind::kNetwork: return EIO;
    case ErrorKind::kTimeout: return ETIMEDOUT;
    case ErrorKind::kBadInput: return EINVAL;
    case ErrorKind::kIo: return EIO;
    case ErrorKind::kInternal: return EIO;
  }
  return EIO;
}

int ErrnoOf(const Error& error) { return error.error_number != 0 ? error.error_number : ErrnoFor(error.kind); }

Error ErrnoError(int error_number, std::string message) {
  return Error{ErrorKind::kBadInput, std::move(message), 0, error_number};
}

int ExitCodeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadInput: return 2;
    case ErrorKind::kIntegrity: return 3;
    case ErrorKind::kExpired: return 4;
    case ErrorKind::kForbidden: return 5;
    case ErrorKind::kNotFound: return 6;
    case ErrorKind::kNetwork: return 7;
    case ErrorKind::kTimeout: return 8;
    case ErrorKind::kChanged: return 9;
    case ErrorKind::kIo: return 10;
    case ErrorKind::kInternal: return 1;
  }
  return 1;
}

ErrorKind KindFromName(const std::string& name, bool* ok) {
  *ok = true;
  for (int k = 0; k <= static_cast<int>(ErrorKind::kInternal); ++k) {
    auto kind = static_cast<ErrorKind>(k);
    if (name == getm::ErrorKindName(kind)) return kind;
  }
  *ok = false;
  return ErrorKind::kInternal;
}

void Throw(const Error& error) { throw getm::Error(error.kind, error.message, error.http_status); }

}  // namespace getmfs
