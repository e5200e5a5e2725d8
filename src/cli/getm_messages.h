// The lines getm itself prints on a failure, for pipelines that parse them.
//
// getm logs with Python's logging as `ERROR:getm.cli:{json}` and ends a checksum mismatch
// with a traceback whose last line is `AssertionError: Checksum failed!`. Cromwell's DRS
// localizer joins getm's stderr into one line and classifies it with
// `.*AssertionError: Checksum failed!.*` and `ERROR:getm\.cli.*"status_code":\s*(\d+).*`
// (408, 429 and 5xx retried, other 4xx fatal; an older release wants `, "status_code": N`).
// Cromwell matches the whole joined text (Scala's unapplySeq), so the status line must come
// first. When invoked as `getm`, getmfs prints these lines instead of its own (the message
// is in them), with the URL redacted (getm prints the signature there).
#ifndef GETMFS_CLI_GETM_MESSAGES_H_
#define GETMFS_CLI_GETM_MESSAGES_H_

#include <string>

#include "util/error.h"

namespace getmfs::cli {

// The getm lines (each ending in '\n') for a download of redacted_url that failed with error.
std::string GetmFailureLines(const Error& error, const std::string& redacted_url);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_GETM_MESSAGES_H_
