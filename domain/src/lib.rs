//! Pure domain types and rules for Qianlink. Nothing in this crate does I/O:
//! parsing at the edge (`IdNumber::parse`, `Phone::parse`, ...), the glossary's
//! enums, calendar arithmetic and validation reports.

pub mod calendar;
pub mod demand;
pub mod discrimination;
pub mod division;
pub mod employment;
pub mod id_number;
pub mod job;
pub mod ledger;
pub mod matching;
pub mod org;
pub mod phone;
pub mod policy;
pub mod subsidy;
pub mod synonyms;
pub mod text;
pub mod validation;
pub mod worker;

pub use division::DivisionCode;
pub use id_number::{Gender, IdNumber};
pub use org::OrgKind;
pub use phone::Phone;
pub use validation::{FieldProblem, Problems};
