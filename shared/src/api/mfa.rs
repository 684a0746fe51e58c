//! The bodies of the second-factor routes (`/mfa/totp`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /mfa/totp` answer: a pending enrolment. The only place the
/// secret is ever shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otpauth_uri": "otpauth://totp/Example:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example"}))]
pub struct TotpEnrolment {
    /// The shared secret, base32 without padding (160 bits).
    pub secret: String,
    /// The same secret as an `otpauth://totp/` URI (SHA-1, 6 digits, 30 s),
    /// for a QR code.
    pub otpauth_uri: String,
}

/// `POST /mfa/totp/confirm` and `DELETE /mfa/totp` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"code": "123456"}))]
pub struct TotpCodeRequest {
    /// Six digits from the authenticator; at `DELETE /mfa/totp` a
    /// ten-character recovery code is also accepted.
    #[schema(pattern = "^([0-9]{6}|[A-Za-z2-7]{10})$")]
    pub code: String,
}

/// `POST /mfa/totp/confirm` answer: ten one-time recovery codes, shown
/// once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"recovery_codes": ["k3mq7x2pza", "…"]}))]
pub struct RecoveryCodes {
    /// Ten codes of ten characters (`a-z`, `2-7`); each works once in
    /// place of a TOTP code.
    pub recovery_codes: Vec<String>,
}
