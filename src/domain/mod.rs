//! Domain values that arrive as raw text and leave as checked types. Each has a
//! `parse` that returns the reason it was refused, which a handler files under the
//! field's name; nothing downstream of a handler sees an unchecked string.

pub mod caller;
pub mod category;
mod contact_phone;
pub mod credit_code;
pub mod district;
pub mod id_number;
mod password;
mod phone;
pub mod vocabulary;

pub use caller::{Caller, Role};
pub use category::Category;
pub use contact_phone::ContactPhone;
pub use credit_code::CreditCode;
pub use district::District;
pub use id_number::IdNumber;
pub use password::Password;
pub use phone::Phone;
