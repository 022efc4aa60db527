#include "common/http/h2/library_errors.h"

#include <nghttp2/nghttp2.h>

#include <utility>

namespace lmesh::http::h2 {

ConnectionError connection_error_from_library(int lib_error_code, std::string reason) {
  if (reason.empty()) reason = nghttp2_strerror(lib_error_code);
  switch (lib_error_code) {
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
      return {ConnectionErrorKind::kBadPreface, Http2ErrorCode::kProtocolError,
              "the client did not send the HTTP/2 connection preface"};
    case NGHTTP2_ERR_FLOODED:
      return {ConnectionErrorKind::kFlood, Http2ErrorCode::kEnhanceYourCalm,
              "flood: the peer sent more PING/SETTINGS than it read acknowledgements of"};
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
      return {ConnectionErrorKind::kFlood, Http2ErrorCode::kEnhanceYourCalm,
              "flood: too many CONTINUATION frames"};
    case NGHTTP2_ERR_CALLBACK_FAILURE:
      return {ConnectionErrorKind::kInternal, Http2ErrorCode::kInternalError, std::move(reason)};
    default:
      return {ConnectionErrorKind::kInternal, Http2ErrorCode::kInternalError,
              std::string(nghttp2_strerror(lib_error_code)) + ": " + reason};
  }
}

ConnectionErrorKind connection_error_kind(Http2ErrorCode code) {
  switch (code) {
    case Http2ErrorCode::kCompressionError: return ConnectionErrorKind::kCompression;
    case Http2ErrorCode::kFlowControlError: return ConnectionErrorKind::kFlowControl;
    case Http2ErrorCode::kFrameSizeError: return ConnectionErrorKind::kFrameSize;
    case Http2ErrorCode::kEnhanceYourCalm: return ConnectionErrorKind::kFlood;
    case Http2ErrorCode::kInternalError: return ConnectionErrorKind::kInternal;
    default: return ConnectionErrorKind::kProtocol;
  }
}

}  // namespace lmesh::http::h2
