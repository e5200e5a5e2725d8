#include "support/origin.h"

#include <unistd.h>

#include <stdexcept>

namespace getmfs::testing {
namespace {

#ifndef GETMFS_ORIGIN_SCRIPT
#error "GETMFS_ORIGIN_SCRIPT must name tests/origin/origin.py"
#endif

constexpr double kStartTimeoutSeconds = 30;

std::string Python() {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

std::string Escape(const std::string& text) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
  char* escaped = curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size()));
  std::string out = escaped ? escaped : "";
  curl_free(escaped);
  curl_easy_cleanup(curl);
  return out;
}

}  // namespace

std::unique_ptr<Origin> Origin::Start(const std::string& root_dir,
                                      const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {
      Python(), GETMFS_ORIGIN_SCRIPT, "--root", root_dir, "--bind", "127.0.0.1", "--port",
      "0",      "--exit-on-stdin-eof"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::unique_ptr<Origin> origin(new Origin());
  origin->process_ = ChildProcess::Start(argv, {"PYTHONDONTWRITEBYTECODE=1"});
  std::optional<std::string> line = origin->process_->ReadLine(kStartTimeoutSeconds);
  if (line && line->rfind("PORT ", 0) == 0) {
    try {
      origin->port_ = std::stoi(line->substr(5));
    } catch (const std::exception&) {
      origin->port_ = 0;
    }
  }
  if (origin->port_ <= 0) {
    origin->process_->Wait(2);
    std::string log = origin->process_->Stderr();
    origin->process_->Stop(1);
    throw std::runtime_error("test origin did not start (first line: '" + line.value_or("") +
                             "'); its stderr:\n" + log);
  }
  return origin;
}

Origin::~Origin() {
  if (process_) process_->Stop(2);
}

std::string Origin::BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string Origin::Url(const std::string& path) const {
  return BaseUrl() + (path.empty() || path[0] != '/' ? "/" : "") + path;
}

nlohmann::json Origin::Control(const std::string& method, const std::string& endpoint,
                               const std::string& body) {
  HttpRequest request;
  request.url = BaseUrl() + "/__control__/" + endpoint;
  request.method = method;
  request.body = body;
  if (method == "POST") request.headers = {"Content-Type: application/json"};
  request.timeout_seconds = 60;
  HttpResponse response;
  {
    std::scoped_lock lock(mu_);
    response = control_.Fetch(request);
  }
  if (response.curl_code != CURLE_OK) {
    throw std::runtime_error("test origin control " + endpoint + ": " + response.curl_error +
                             "\norigin stderr:\n" + ServerLog());
  }
  nlohmann::json reply = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (response.status != 200 || reply.is_discarded()) {
    throw std::runtime_error("test origin control " + endpoint + " answered " +
                             std::to_string(response.status) + ": " + response.body);
  }
  return reply;
}

nlohmann::json Origin::Configure(const nlohmann::json& config) {
  return Control("POST", "config", config.dump());
}

void Origin::Reset() { Control("POST", "reset"); }

nlohmann::json Origin::Stats() { return Control("GET", "stats"); }

nlohmann::json Origin::PathStats(const std::string& path) {
  return Control("GET", "stats?path=" + Escape(path));
}

std::string Origin::Presign(const std::string& path, int expires_seconds,
                            const std::string& emulate, const std::string& date) {
  std::string query = "sign?path=" + Escape(path) + "&expires=" + std::to_string(expires_seconds) +
                      "&emulate=" + Escape(emulate);
  if (!date.empty()) query += "&date=" + Escape(date);
  return Control("GET", query).at("url").get<std::string>();
}

nlohmann::json Origin::ConfigureDrs(const nlohmann::json& config) {
  return Control("POST", "drs", config.dump());
}

nlohmann::json Origin::DrsStats() { return Control("GET", "drs_stats"); }

std::string Origin::DrsUri(const std::string& id) const {
  return "drs://127.0.0.1:" + std::to_string(port_) + "/" + id;
}

std::string Origin::ServerLog() const { return process_ ? process_->Stderr() : ""; }

}  // namespace getmfs::testing
