use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What went wrong in the store, in terms the API can answer with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key refused a duplicate; `constraint` names it.
    #[error("duplicate ({constraint})")]
    Duplicate { constraint: String },
    /// A foreign key or check constraint refused the row.
    #[error("constraint violated ({constraint})")]
    Constraint { constraint: String },
    /// A state transition that is not allowed (e.g. closing a closed job).
    #[error("{0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(DieselError),
    /// Input that is well-formed but contradicts what is stored (422).
    #[error("invalid input")]
    Invalid(domain::Problems),
    /// A worker with this ID number exists already.
    #[error("duplicate worker")]
    DuplicateWorker { worker_id: uuid::Uuid, county_code: String },
    #[error("{0}")]
    Other(String),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or("").to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => StoreError::Duplicate { constraint },
                    DatabaseErrorKind::ForeignKeyViolation
                    | DatabaseErrorKind::CheckViolation
                    | DatabaseErrorKind::NotNullViolation => StoreError::Constraint { constraint },
                    // The connection died (PostgreSQL restarted, the network cut it):
                    // unavailable, not an internal error, whether the failure came
                    // back in a result or when sending the query.
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                        StoreError::Unavailable(info.message().to_owned())
                    }
                    _ => StoreError::Database(DieselError::DatabaseError(kind, info)),
                }
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query sent on a connection PostgreSQL dropped fails with
    /// `UnableToSendCommand` ("no connection to the server"): that is the
    /// database being unavailable (503), not an internal error (500).
    #[test]
    fn a_dead_connection_is_unavailable() {
        for kind in [DatabaseErrorKind::UnableToSendCommand, DatabaseErrorKind::ClosedConnection] {
            let e = DieselError::DatabaseError(kind, Box::new("no connection to the server".to_owned()));
            assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)));
        }
    }
}
