// SPDX-License-Identifier: Apache-2.0
#include "daemon/feed/validation.hpp"

namespace screener::feed {

const char* to_string(RejectReason reason) noexcept {
  switch (reason) {
    case RejectReason::None: return "None";
    case RejectReason::BadJson: return "BadJson";
    case RejectReason::TooLarge: return "TooLarge";
    case RejectReason::NotAnObject: return "NotAnObject";
    case RejectReason::MissingField: return "MissingField";
    case RejectReason::WrongType: return "WrongType";
    case RejectReason::BadNumber: return "BadNumber";
    case RejectReason::NonFinite: return "NonFinite";
    case RejectReason::NegativeValue: return "NegativeValue";
    case RejectReason::BadSymbol: return "BadSymbol";
    case RejectReason::HighBelowLow: return "HighBelowLow";
    case RejectReason::OpenOutsideRange: return "OpenOutsideRange";
    case RejectReason::CloseOutsideRange: return "CloseOutsideRange";
    case RejectReason::TakerExceedsTotal: return "TakerExceedsTotal";
    case RejectReason::UnknownInterval: return "UnknownInterval";
    case RejectReason::MisalignedOpenTime: return "MisalignedOpenTime";
    case RejectReason::CloseTimeMismatch: return "CloseTimeMismatch";
    case RejectReason::SymbolMismatch: return "SymbolMismatch";
    case RejectReason::StreamMismatch: return "StreamMismatch";
    case RejectReason::Count: break;
  }
  return "?";
}

}  // namespace screener::feed
