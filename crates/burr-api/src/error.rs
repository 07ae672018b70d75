//! The errors the API answers with: a wire code, an HTTP status and a message that names the
//! parameter, the value and the rule.

use burr_model::classic::ClassicError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
        }
    }

    pub fn missing(parameter: &str) -> Self {
        Self::new(
            "MissingParameter",
            400,
            format!("The request must contain the parameter {parameter}"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("ValidationError", 400, message)
    }

    /// `Type` of the `<Error>`: the caller's fault, or burr's.
    pub fn fault(&self) -> &'static str {
        if self.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }
}

impl From<ClassicError> for ApiError {
    fn from(e: ClassicError) -> Self {
        Self::new(e.code.as_str(), e.code.http_status(), e.message)
    }
}

impl From<burr_model::elbv2::V2Error> for ApiError {
    fn from(e: burr_model::elbv2::V2Error) -> Self {
        Self::new(e.code.as_str(), e.code.http_status(), e.message)
    }
}
