#include "common/http/h2/error.h"

namespace lmesh::http::h2 {

std::string_view to_string(Http2ErrorCode code) {
  switch (code) {
    case Http2ErrorCode::kNoError: return "NO_ERROR";
    case Http2ErrorCode::kProtocolError: return "PROTOCOL_ERROR";
    case Http2ErrorCode::kInternalError: return "INTERNAL_ERROR";
    case Http2ErrorCode::kFlowControlError: return "FLOW_CONTROL_ERROR";
    case Http2ErrorCode::kSettingsTimeout: return "SETTINGS_TIMEOUT";
    case Http2ErrorCode::kStreamClosed: return "STREAM_CLOSED";
    case Http2ErrorCode::kFrameSizeError: return "FRAME_SIZE_ERROR";
    case Http2ErrorCode::kRefusedStream: return "REFUSED_STREAM";
    case Http2ErrorCode::kCancel: return "CANCEL";
    case Http2ErrorCode::kCompressionError: return "COMPRESSION_ERROR";
    case Http2ErrorCode::kConnectError: return "CONNECT_ERROR";
    case Http2ErrorCode::kEnhanceYourCalm: return "ENHANCE_YOUR_CALM";
    case Http2ErrorCode::kInadequateSecurity: return "INADEQUATE_SECURITY";
    case Http2ErrorCode::kHttp11Required: return "HTTP_1_1_REQUIRED";
  }
  return "UNKNOWN_ERROR";
}

std::string_view to_string(ConnectionErrorKind kind) {
  switch (kind) {
    case ConnectionErrorKind::kBadPreface: return "h2_bad_preface";
    case ConnectionErrorKind::kProtocol: return "h2_protocol_error";
    case ConnectionErrorKind::kCompression: return "h2_compression_error";
    case ConnectionErrorKind::kFlowControl: return "h2_flow_control_error";
    case ConnectionErrorKind::kFrameSize: return "h2_frame_size_error";
    case ConnectionErrorKind::kFlood: return "h2_flood";
    case ConnectionErrorKind::kInternal: return "h2_internal_error";
  }
  return "h2_unknown_error";
}

std::string_view to_string(ResetOrigin origin) {
  switch (origin) {
    case ResetOrigin::kPeer: return "peer";
    case ResetOrigin::kSession: return "session";
    case ResetOrigin::kRefused: return "refused";
    case ResetOrigin::kConnection: return "connection";
  }
  return "unknown";
}

Error ConnectionError::to_error() const {
  std::string message(to_string(kind));
  message += ": ";
  message += reason;
  return Error(kind == ConnectionErrorKind::kInternal ? ErrorCode::kInternal : ErrorCode::kProtocol,
               std::move(message));
}

}  // namespace lmesh::http::h2
