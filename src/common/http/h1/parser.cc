#include "common/http/h1/parser.h"

#include <cassert>

namespace lmesh::http::h1 {
namespace {

Parser* self_of(llhttp_t* p) {
  return static_cast<Parser*>(p->data);
}

}  // namespace

const llhttp_settings_t* Parser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &Parser::on_message_begin;
    s.on_url = &Parser::on_url;
    s.on_status = &Parser::on_status;
    s.on_header_field = &Parser::on_header_field;
    s.on_header_value = &Parser::on_header_value;
    s.on_header_value_complete = &Parser::on_header_value_complete;
    s.on_headers_complete = &Parser::on_headers_complete;
    s.on_body = &Parser::on_body;
    s.on_message_complete = &Parser::on_message_complete;
    return s;
  }();
  return &kSettings;
}

Parser::Parser(Kind kind, Handler& handler, size_t max_head_bytes)
    : kind_(kind), handler_(handler), max_head_bytes_(max_head_bytes) {
  llhttp_init(&parser_, kind == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, settings());
  parser_.data = this;
}

Parser::FeedResult Parser::feed(const buffer::Slice& data) {
  if (error_ != Error::kNone) return {0, Outcome::kError};
  if (paused_) return {0, Outcome::kMessageComplete};  // the owner has not resume()d yet
  if (data.empty()) return {0, Outcome::kNeedMore};
  current_ = &data;
  llhttp_errno_t rc = llhttp_execute(&parser_, data.data(), data.size());
  current_ = nullptr;
  if (rc == HPE_OK) return {data.size(), Outcome::kNeedMore};
  size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data.data());
  if (rc == HPE_PAUSED) return {consumed, Outcome::kMessageComplete};
  if (rc == HPE_PAUSED_UPGRADE) return {consumed, Outcome::kUpgrade};
  if (error_ == Error::kHeadTooLarge) return {consumed, Outcome::kError};
  return fail_with(Error::kMalformed, llhttp_get_error_reason(&parser_), consumed);
}

Parser::Outcome Parser::finish() {
  if (error_ != Error::kNone) return Outcome::kError;
  // Between messages the close is clean. (llhttp would only learn that a message ended on the
  // next execute(), and calls the close "Invalid EOF state" until then.)
  if (!in_message_) return Outcome::kNeedMore;
  llhttp_errno_t rc = llhttp_finish(&parser_);
  if (rc == HPE_OK || rc == HPE_PAUSED) {
    // finish() completes only close-delimited bodies; any other open message was truncated.
    if (in_message_) {
      fail_with(Error::kMalformed, "connection closed mid-message", 0);
      return Outcome::kError;
    }
    return Outcome::kMessageComplete;
  }
  fail_with(Error::kMalformed, llhttp_get_error_reason(&parser_), 0);
  return Outcome::kError;
}

void Parser::resume() {
  if (!paused_) return;
  paused_ = false;
  llhttp_resume(&parser_);
}

void Parser::resume_after_upgrade() {
  llhttp_resume_after_upgrade(&parser_);
}

Parser::FeedResult Parser::fail_with(Error e, std::string reason, size_t consumed) {
  error_ = e;
  error_reason_ = std::move(reason);
  return {consumed, Outcome::kError};
}

bool Parser::count_head_bytes(size_t n) {
  head_bytes_ += n;
  if (head_bytes_ <= max_head_bytes_) return true;
  error_ = Error::kHeadTooLarge;
  error_reason_ = "message head larger than " + std::to_string(max_head_bytes_) + " bytes";
  return false;
}

int Parser::on_message_begin(llhttp_t* p) {
  Parser* self = self_of(p);
  self->in_message_ = true;
  self->head_complete_ = false;
  self->head_bytes_ = 0;
  self->field_open_ = false;
  self->declined_upgrade_ = false;
  self->trailers_.clear();
  if (self->kind_ == Kind::kRequest) {
    self->request_.clear();
    self->fields_ = &self->request_.headers;
  } else {
    self->response_.clear();
    self->fields_ = &self->response_.headers;
  }
  return 0;
}

int Parser::on_url(llhttp_t* p, const char* at, size_t n) {
  Parser* self = self_of(p);
  if (!self->count_head_bytes(n)) return -1;
  self->request_.target.append(at, n);
  return 0;
}

int Parser::on_status(llhttp_t* p, const char* at, size_t n) {
  Parser* self = self_of(p);
  if (!self->count_head_bytes(n)) return -1;
  self->response_.reason.append(at, n);
  return 0;
}

int Parser::on_header_field(llhttp_t* p, const char* at, size_t n) {
  Parser* self = self_of(p);
  // ": " and CRLF count too, so the limit means roughly "bytes on the wire".
  if (!self->count_head_bytes(self->field_open_ ? n : n + 4)) return -1;
  if (!self->field_open_) {
    self->fields_->begin_field();
    self->field_open_ = true;
  }
  self->fields_->append_name(std::string_view(at, n));
  return 0;
}

int Parser::on_header_value(llhttp_t* p, const char* at, size_t n) {
  Parser* self = self_of(p);
  if (!self->count_head_bytes(n)) return -1;
  self->fields_->append_value(std::string_view(at, n));
  return 0;
}

int Parser::on_header_value_complete(llhttp_t* p) {
  Parser* self = self_of(p);
  self->field_open_ = false;
  self->fields_->end_field();
  return 0;
}

int Parser::on_headers_complete(llhttp_t* p) {
  Parser* self = self_of(p);
  self->head_complete_ = true;
  self->fields_ = &self->trailers_;
  self->field_open_ = false;

  BodyFraming framing = BodyFraming::kNone;
  if (p->flags & F_CHUNKED) {
    framing = BodyFraming::kChunked;
  } else if (p->flags & F_CONTENT_LENGTH) {
    framing = p->content_length > 0 ? BodyFraming::kContentLength : BodyFraming::kNone;
  } else if (self->kind_ == Kind::kResponse && llhttp_message_needs_eof(p)) {
    framing = BodyFraming::kUntilClose;
  }

  int verdict = 0;
  if (self->kind_ == Kind::kRequest) {
    RequestHead& r = self->request_;
    r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    r.version_major = p->http_major;
    r.version_minor = p->http_minor;
    r.framing = framing;
    r.content_length = framing == BodyFraming::kContentLength ? p->content_length : 0;
    r.keep_alive = llhttp_should_keep_alive(p) != 0;
    r.upgrade = p->upgrade != 0;
  } else {
    ResponseHead& r = self->response_;
    r.status = static_cast<uint16_t>(p->status_code);
    r.version_major = p->http_major;
    r.version_minor = p->http_minor;
    // 1xx, 204 and 304 responses never have content, whatever their fields say (RFC 9110
    // §6.4.1); llhttp 8.1 still reads a body when such a response carries Content-Length.
    bool no_content = (r.informational() && r.status != 101) || r.status == 204 || r.status == 304;
    bool bodyless = no_content || (self->next_bodyless_ && !r.informational());
    if (bodyless) {
      framing = BodyFraming::kNone;
      verdict = 1;  // llhttp: "assume no body"
    }
    r.framing = framing;
    r.content_length = framing == BodyFraming::kContentLength ? p->content_length : 0;
    if (bodyless) {
      // llhttp_should_keep_alive() would see "no length, read until close" here; a bodyless
      // response ends with its head, so only the Connection field and the version decide.
      bool http11 = p->http_major > 0 && p->http_minor > 0;
      r.keep_alive =
          http11 ? (p->flags & F_CONNECTION_CLOSE) == 0 : (p->flags & F_CONNECTION_KEEP_ALIVE) != 0;
    } else {
      r.keep_alive = llhttp_should_keep_alive(p) != 0;
    }
  }

  self->handler_.on_head();
  if (self->kind_ == Kind::kRequest && self->declined_upgrade_) {
    // llhttp checks the flag after this callback: clearing it keeps the parser in HTTP/1.
    p->upgrade = 0;
    self->request_.upgrade = false;
  }
  return verdict;
}

int Parser::on_body(llhttp_t* p, const char* at, size_t n) {
  Parser* self = self_of(p);
  assert(self->current_ != nullptr);
  size_t offset = static_cast<size_t>(at - self->current_->data());
  self->handler_.on_body(self->current_->sub(offset, n));
  return 0;
}

int Parser::on_message_complete(llhttp_t* p) {
  Parser* self = self_of(p);
  self->in_message_ = false;
  if (self->kind_ == Kind::kResponse && !self->response_.informational()) {
    self->next_bodyless_ = false;
  }
  self->handler_.on_message_complete();
  // An upgrade makes llhttp_execute() return HPE_PAUSED_UPGRADE by itself; pausing here too
  // would report the same event twice.
  if (p->upgrade || (self->kind_ == Kind::kResponse && p->status_code == 101)) return 0;
  // Pause so the owner finishes this exchange before the next pipelined message is parsed.
  self->paused_ = true;
  return HPE_PAUSED;
}

}  // namespace lmesh::http::h1
