//! Who is calling, as the rules below HTTP see it: a user id and a role.
//!
//! The `auth` extractors turn a bearer token into a [`Caller`]; repos and rules take
//! the plain value, so nothing below the handlers knows about requests or tokens.

crate::text_enum! {
    /// An account's role. It never changes after the account is made, so it travels
    /// in the access token.
    pub enum Role {
        Resident = "resident",
        Admin = "admin",
    }
}

/// A signed-in user: what every authorization rule needs to know of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub id: i64,
    pub role: Role,
}

impl Caller {
    /// A resident by id: the buyer of an order (only residents buy).
    pub fn resident(id: i64) -> Caller {
        Caller {
            id,
            role: Role::Resident,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
