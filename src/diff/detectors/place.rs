//! Where a suspect points a person: the one line of code to open, chosen by fixed rules from
//! what each detector knows (the function, the constructor, the literal's allocation site),
//! the allocation stacks when the snapshots have them, and — last — a function of the scope
//! that holds the owner. A Node internal (`node:buffer:…`) is shown only when nothing in the
//! app or a package locates the suspect.

pub(super) use crate::diff::digest::is_script_file as is_file;
use crate::report::diff::{AllocationStack, LocationBasis};
use crate::report::SourceLocation;

/// A suspect's location, why it is there, its package and the app's frame that leads to it.
pub(super) struct Placed {
    pub location: Option<SourceLocation>,
    pub basis: LocationBasis,
    pub package: Option<String>,
    pub app_location: Option<SourceLocation>,
}

/// What a detector knows of where its suspect comes from.
pub(super) struct Clues {
    /// The suspect's own location and what it is (function, constructor, allocation site).
    pub own: Option<(SourceLocation, LocationBasis)>,
    /// A function of the scope that holds the owner, for when nothing better is known.
    pub holding_scope: Option<SourceLocation>,
    /// The app's code that leads to a location in a package, when the detector knows it (the
    /// app's function registered into a library); an allocation stack's app frame wins.
    pub app: Option<SourceLocation>,
}

impl Clues {
    pub fn own(location: Option<SourceLocation>, basis: LocationBasis) -> Clues {
        Clues {
            own: location.map(|l| (l, basis)),
            holding_scope: None,
            app: None,
        }
    }
}

/// The rules, in order:
/// 1. the suspect's own location, when it is in the app or a package;
/// 2. the innermost frame in the app or a package of the stack that allocated the most;
/// 3. a function of the scope that holds the owner;
/// 4. the suspect's own location in Node (better than nothing: the class it names);
/// 5. none, and the report says why.
///
/// When the location is in a package or in Node, the nearest app frame of the allocation
/// stack (if any) is given too.
pub(super) fn place(clues: Clues, stacks: &[AllocationStack]) -> Placed {
    let stack_frame = stacks.first().and_then(|stack| {
        stack
            .frames
            .iter()
            .filter_map(|f| f.location.as_ref())
            .find(|l| is_file(&l.file))
            .cloned()
    });
    let own_user = clues
        .own
        .as_ref()
        .filter(|(l, _)| is_file(&l.file))
        .cloned();
    let (location, basis) = if let Some((l, basis)) = own_user {
        (Some(l), basis)
    } else if let Some(l) = stack_frame {
        (Some(l), LocationBasis::AllocationStack)
    } else if let Some(l) = clues.holding_scope {
        (Some(l), LocationBasis::HoldingScope)
    } else if let Some((l, basis)) = clues.own {
        (Some(l), basis)
    } else {
        (None, LocationBasis::Unknown)
    };
    let package = location.as_ref().and_then(SourceLocation::package);
    let outside_app = location
        .as_ref()
        .is_some_and(|l| package.is_some() || !is_file(&l.file));
    let app_location = if outside_app {
        stacks
            .first()
            .and_then(|stack| stack.frames.iter().find(|f| f.app))
            .and_then(|f| f.location.clone())
            .or(clues.app)
    } else {
        None
    };
    Placed {
        location,
        basis,
        package,
        app_location,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::diff::StackFrame;

    fn at(file: &str, line: u32) -> SourceLocation {
        SourceLocation {
            file: file.to_string(),
            line,
            column: 1,
        }
    }

    fn frame(file: &str, line: u32, app: bool) -> StackFrame {
        StackFrame {
            function: "f".to_string(),
            location: Some(at(file, line)),
            app,
        }
    }

    #[test]
    fn packages_are_named_by_their_folder() {
        let package = |file: &str| at(file, 1).package();
        assert_eq!(
            package("/srv/app/node_modules/axios/lib/core/InterceptorManager.js").as_deref(),
            Some("axios")
        );
        assert_eq!(
            package("/a/node_modules/x/node_modules/@scope/pkg/index.js").as_deref(),
            Some("@scope/pkg")
        );
        assert_eq!(
            package("C:\\app\\node_modules\\pg\\lib\\client.js").as_deref(),
            Some("pg")
        );
        assert_eq!(package("/srv/app/server.js"), None);
        assert_eq!(package("node:buffer"), None);
    }

    #[test]
    fn a_node_internal_gives_way_to_the_stack_then_the_holding_scope() {
        let stacks = vec![AllocationStack {
            count: 3,
            frames: vec![
                frame("node:buffer", 10, false),
                frame("/app/node_modules/lib/index.js", 20, false),
                frame("/app/server.js", 30, true),
            ],
        }];
        let clues = || Clues {
            own: Some((at("node:buffer", 268), LocationBasis::Constructor)),
            holding_scope: Some(at("/app/server.js", 5)),
            app: None,
        };
        let placed = place(clues(), &stacks);
        assert_eq!(
            placed.location,
            Some(at("/app/node_modules/lib/index.js", 20))
        );
        assert_eq!(placed.basis, LocationBasis::AllocationStack);
        assert_eq!(placed.package.as_deref(), Some("lib"));
        assert_eq!(placed.app_location, Some(at("/app/server.js", 30)));
        let placed = place(clues(), &[]);
        assert_eq!(placed.location, Some(at("/app/server.js", 5)));
        assert_eq!(placed.basis, LocationBasis::HoldingScope);
        let placed = place(Clues::own(None, LocationBasis::Constructor), &[]);
        assert_eq!(
            (placed.location, placed.basis),
            (None, LocationBasis::Unknown)
        );
        let placed = place(
            Clues::own(Some(at("node:buffer", 268)), LocationBasis::Constructor),
            &[],
        );
        assert_eq!(placed.location, Some(at("node:buffer", 268)));
    }

    #[test]
    fn the_suspects_own_location_in_the_app_wins() {
        let stacks = vec![AllocationStack {
            count: 1,
            frames: vec![frame("/app/other.js", 1, true)],
        }];
        let placed = place(
            Clues::own(Some(at("/app/server.js", 9)), LocationBasis::Function),
            &stacks,
        );
        assert_eq!(placed.location, Some(at("/app/server.js", 9)));
        assert_eq!(placed.basis, LocationBasis::Function);
        assert_eq!(placed.app_location, None);
    }
}
