// HTTP/2 errors as the owner of a session sees them: the wire's error codes (RFC 9113 §7), and
// a small closed set of reasons why a connection failed, stable enough for metric labels and
// the `lmesh-proxy-error` header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lmesh::http::h2 {

// The error codes of RST_STREAM and GOAWAY frames (RFC 9113 §7). A peer may send codes not
// listed here; they must not trigger special behaviour (§7), so they pass through as values.
enum class Http2ErrorCode : uint32_t {
  kNoError = 0x0,
  kProtocolError = 0x1,
  kInternalError = 0x2,
  kFlowControlError = 0x3,
  kSettingsTimeout = 0x4,
  kStreamClosed = 0x5,
  kFrameSizeError = 0x6,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kCompressionError = 0x9,
  kConnectError = 0xa,
  kEnhanceYourCalm = 0xb,
  kInadequateSecurity = 0xc,
  kHttp11Required = 0xd,
};

// "PROTOCOL_ERROR", ... as RFC 9113 spells them; "UNKNOWN_ERROR" for codes it does not define.
std::string_view to_string(Http2ErrorCode code);

// Why a connection ended in error.
enum class ConnectionErrorKind : uint8_t {
  kBadPreface,   // the client did not start with the HTTP/2 connection preface (§3.4)
  kProtocol,     // PROTOCOL_ERROR, STREAM_CLOSED or SETTINGS_TIMEOUT: the peer broke a rule
  kCompression,  // HPACK state could not be kept (§4.3)
  kFlowControl,  // the peer sent beyond a window (§6.9)
  kFrameSize,    // a frame over SETTINGS_MAX_FRAME_SIZE or of an impossible size (§4.2)
  kFlood,        // too many control frames, CONTINUATIONs or resets: ENHANCE_YOUR_CALM
  kInternal,     // this side failed (a bug or out of memory)
};

// "h2_bad_preface", "h2_protocol_error", ...: one token, for metric labels and
// `lmesh-proxy-error`.
std::string_view to_string(ConnectionErrorKind kind);

struct ConnectionError {
  ConnectionErrorKind kind;
  Http2ErrorCode code;  // the code in the GOAWAY this side sends
  std::string reason;   // what went wrong, for logs

  // As an lmesh::Error (kProtocol for the peer's faults, kInternal for ours).
  Error to_error() const;
};

// Who ended a stream that did not finish cleanly.
enum class ResetOrigin : uint8_t {
  kPeer,        // the peer sent RST_STREAM
  kSession,     // the session reset it: a stream error in what the peer sent (RFC 9113 §5.4.2:
                // malformed message, content-length mismatch) or a local limit
  kRefused,     // the peer never processed it: above a GOAWAY's last stream id, or never sent
                // because the connection was going away. Safe to retry (§8.7).
  kConnection,  // the connection ended (error, or the transport closed) with the stream open
};

std::string_view to_string(ResetOrigin origin);

}  // namespace lmesh::http::h2
