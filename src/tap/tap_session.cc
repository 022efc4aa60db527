#include "tap/tap_session.h"

#include <spdlog/spdlog.h>

#include <cassert>

#include <nlohmann/json.hpp>

namespace lmesh::tap {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Often enough that the 100 ms hold is kept to within a fifth of it.
constexpr auto kTick = std::chrono::milliseconds(20);
constexpr auto kDropReportEvery = std::chrono::seconds(1);

int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json proxy_object(const Pod& pod) {
  return json{{"pod", pod.name}, {"namespace", pod.namespace_}, {"workload", pod.workload}};
}

}  // namespace

TapSession::TapSession(event::Worker& worker, PodDirectory& directory, const TapIdentity& identity,
                       TapMetrics& metrics, TapParams params,
                       std::shared_ptr<api::Response> response, Finished finished)
    : worker_(worker),
      directory_(directory),
      identity_(identity),
      metrics_(metrics),
      params_(std::move(params)),
      response_(std::move(response)),
      finished_(std::move(finished)),
      admission_(params_.max_rps, Clock::now()),
      tick_(worker.loop(), [this] { on_tick(); }),
      last_drop_report_(Clock::now()),
      open_guard_(metrics.taps_open()) {}

TapSession::~TapSession() {
  // The response may outlive the session (its connection holds it): its callback points here.
  response_->on_close(nullptr);
}

void TapSession::start() {
  response_->on_close([this] {
    spdlog::debug("tap client gone target={}", params_.target.to_string());
    finish();
  });
  lookup_ = directory_.lookup(params_.target, params_.namespace_,
                              [this](Result<std::vector<Pod>> pods) { resolved(std::move(pods)); });
}

void TapSession::fail_before_stream(const Error& why) {
  switch (why.code()) {
    case ErrorCode::kNotFound: response_->error(404, "no match", why.describe()); break;
    case ErrorCode::kInvalidArgument: response_->error(400, "bad target", why.describe()); break;
    default: response_->error(502, "destination service unavailable", why.describe()); break;
  }
  finish();
}

void TapSession::resolved(Result<std::vector<Pod>> pods) {
  if (state_ != State::kResolving) return;
  if (!pods) return fail_before_stream(pods.error());
  if (pods->empty()) {
    return fail_before_stream(
        Error(ErrorCode::kNotFound,
              "no pods for " + params_.target.to_string() + " in namespace " + params_.namespace_));
  }
  pods_ = std::move(*pods);
  if (!params_.to) return open_streams({});
  // A second member: the first call is still running the callback this is called from.
  lookup_to_ =
      directory_.lookup(params_.to, params_.to_namespace,
                        [this](Result<std::vector<Pod>> to) { resolved_to(std::move(to)); });
}

void TapSession::resolved_to(Result<std::vector<Pod>> to_pods) {
  if (state_ != State::kResolving) return;
  if (!to_pods) return fail_before_stream(to_pods.error());
  std::vector<std::string> ips;
  for (const Pod& pod : *to_pods) {
    if (!pod.addr.empty()) ips.push_back(pod.addr);
  }
  if (ips.empty()) {
    return fail_before_stream(
        Error(ErrorCode::kNotFound, "no pod addresses for " + params_.to->to_string() +
                                        " in namespace " + params_.to_namespace));
  }
  open_streams(ips);
}

void TapSession::transition(State next) {
  // resolving -> streaming -> finished, or resolving -> finished (answered with an error).
  assert((next == State::kStreaming && state_ == State::kResolving) ||
         (next == State::kFinished && state_ != State::kFinished));
  state_ = next;
}

void TapSession::open_streams(const std::vector<std::string>& to_ips) {
  transition(State::kStreaming);
  response_->begin_json_stream();
  std::string target = proxy_tap_target(params_, pods_.size(), to_ips);
  proxies_.reserve(pods_.size());
  for (Pod& pod : pods_) proxies_.push_back(Proxy{std::move(pod), nullptr});
  spdlog::debug("tap target={} proxies={} filter={}", params_.target.to_string(), proxies_.size(),
                target);
  // Opened after the vector is complete: the callbacks find their proxy by index.
  for (size_t i = 0; i < proxies_.size(); ++i) {
    proxies_[i].stream = std::make_unique<ProxyStream>(
        worker_, proxies_[i].pod, target, identity_,
        ProxyStream::Events{[this, i](std::string_view line) { on_line(i, line); },
                            [this, i](const Error& why) { on_ended(i, why); }});
  }
  tick_.arm(kTick);
}

void TapSession::on_line(size_t proxy, std::string_view line) {
  if (state_ != State::kStreaming) return;
  json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) {
    spdlog::debug("tap: a line from pod {} is not a JSON object", proxies_[proxy].pod.key());
    return;
  }
  auto kind = event.find("kind");
  auto id = event.find("id");
  std::string_view kind_text = kind != event.end() && kind->is_string()
                                   ? std::string_view(kind->get_ref<const std::string&>())
                                   : std::string_view();
  std::string_view id_text = id != event.end() && id->is_string()
                                 ? std::string_view(id->get_ref<const std::string&>())
                                 : std::string_view();
  if (!admission_.admit(proxy, kind_text, id_text, Clock::now())) return;
  auto ts = event.find("ts_us");
  int64_t ts_us = ts != event.end() && ts->is_number_integer() ? ts->get<int64_t>() : wall_now_us();
  event["proxy"] = proxy_object(proxies_[proxy].pod);
  merger_.push(ts_us, event.dump(), Clock::now());
}

void TapSession::on_ended(size_t proxy, const Error& why) {
  if (state_ != State::kStreaming) return;
  ++proxies_ended_;
  metrics_.proxy_error();
  const Proxy& p = proxies_[proxy];
  spdlog::info("tap: proxy stream of pod {} ended: {}", p.pod.key(), why.describe());
  json event = {{"kind", "proxy_error"},
                {"ts_us", wall_now_us()},
                {"proxy", proxy_object(p.pod)},
                {"error", why.describe()}};
  merger_.push(event["ts_us"].get<int64_t>(), event.dump(), Clock::now());
  if (proxies_ended_ == proxies_.size()) {
    // Nothing more can come: the held events and this report go out, and the stream ends.
    send(merger_.drain());
    if (state_ != State::kStreaming) return;
    response_->end_stream();
    finish();
  }
}

void TapSession::on_tick() {
  if (state_ != State::kStreaming) return;
  Clock::time_point now = Clock::now();
  if (now - last_drop_report_ >= kDropReportEvery) {
    last_drop_report_ = now;
    if (uint64_t n = admission_.take_dropped(); n > 0) {
      metrics_.dropped(n);
      int64_t ts = wall_now_us();
      merger_.push(ts, json{{"kind", "dropped"}, {"ts_us", ts}, {"count", n}}.dump(), now);
    }
  }
  send(merger_.release(now));
  if (state_ == State::kStreaming) tick_.arm(kTick);
}

void TapSession::send(std::vector<std::string> lines) {
  for (std::string& line : lines) {
    // A write may find the client gone, which finishes the session from inside this loop.
    if (state_ != State::kStreaming || !response_->open()) return;
    response_->send_line(std::move(line));
    metrics_.relayed();
  }
}

void TapSession::finish() {
  if (state_ == State::kFinished) return;
  transition(State::kFinished);
  tick_.disarm();
  auto finished = std::move(finished_);
  if (finished) finished(this);
}

}  // namespace lmesh::tap
