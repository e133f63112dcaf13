//! What holds an object, in terms that carry over from one process of a program to another:
//! the names of the references to it (a variable of a scope, a property, an array element),
//! the classes of their holders and, where the walk ends, a source location. Across processes
//! object ids mean nothing, so collections and listener lists are matched by this key
//! ([`crate::diff::shapes::Shapes::holder_key`] makes it).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::report::SourceLocation;

/// An object's holder, as far up as it takes to name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderKey {
    /// The held object's class.
    pub class: String,
    /// The references up from the object, nearest first.
    pub steps: Vec<HolderStep>,
}

/// One reference: how the holder refers to the object below it, and what the holder is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderStep {
    pub reference: Reference,
    pub holder: Holder,
}

/// How a holder refers to what it holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reference {
    /// A variable of a scope (a closure's context).
    Variable(String),
    /// A named property.
    Property(String),
    /// An array element (its index depends on what else the array held, so it is left out).
    Element,
    /// The store of an `AsyncLocalStorage` (what `run(store, …)` was given): the holder is the
    /// storage, reached through whichever async resources carry its context.
    Store,
}

/// What a holder is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Holder {
    /// A scope, named by the lowest location among its functions (`module`: the top level of
    /// a module, whose enclosing scope is the global one): the walk ends here.
    Scope { at: SourceLocation, module: bool },
    /// The global object (`globalThis`): the walk ends here.
    Global,
    /// An instance of a class with a constructor location: the walk ends here when the class
    /// is the app's own, and goes on above a package's or Node's instance towards the app's
    /// variable that holds it.
    Instance { class: String, at: SourceLocation },
    /// Any other object, by class; the walk goes on above it.
    Object(String),
}

impl HolderKey {
    /// The way a person finds the object in the code, from the outside in: the scope or the
    /// class instance that holds it, the names down to it, and its class —
    /// `/app/cache.js (module scope) → sessionCache → Map`. A walk that did not reach a scope
    /// or a located instance starts with `…`.
    pub fn from_the_outside(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        match self.steps.last().map(|step| &step.holder) {
            Some(Holder::Scope { at, module: true }) => {
                parts.push(format!("{} (module scope)", at.file))
            }
            Some(Holder::Scope { at, module: false }) => parts.push(format!("scope at {at}")),
            Some(Holder::Global) => parts.push("globalThis".to_string()),
            Some(Holder::Instance { class, at }) => parts.push(format!("{class} ({at})")),
            Some(Holder::Object(class)) => parts.push(format!("… {class}")),
            None => parts.push("…".to_string()),
        }
        for (i, step) in self.steps.iter().enumerate().rev() {
            let reference = match &step.reference {
                Reference::Variable(name) => name.clone(),
                Reference::Property(name) => format!(".{name}"),
                Reference::Element => "[…]".to_string(),
                Reference::Store => "(its store)".to_string(),
            };
            // What the reference names, when it is an instance the walk went through:
            // `userLoader (DataLoader) → ._cacheMap → Map`.
            let named = i
                .checked_sub(1)
                .and_then(|below| match &self.steps[below].holder {
                    Holder::Instance { class, .. } => Some(class),
                    _ => None,
                });
            parts.push(match named {
                Some(class) => format!("{reference} ({class})"),
                None => reference,
            });
        }
        parts.push(self.class.clone());
        parts.join(" → ")
    }
}

impl fmt::Display for HolderKey {
    /// `Map ← variable sessionCache of the scope at /app/cache.js:12:3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.class)?;
        for step in &self.steps {
            match &step.reference {
                Reference::Variable(name) => write!(f, " ← variable {name}")?,
                Reference::Property(name) => write!(f, " ← .{name}")?,
                Reference::Element => f.write_str(" ← element")?,
                Reference::Store => f.write_str(" ← the store")?,
            }
            match &step.holder {
                Holder::Scope { at, .. } => write!(f, " of the scope at {at}")?,
                Holder::Global => f.write_str(" of globalThis")?,
                Holder::Instance { class, at } => write!(f, " of {class} ({at})")?,
                Holder::Object(class) => write!(f, " of {class}")?,
            }
        }
        Ok(())
    }
}
