//! Field, expansion and event-type parameters, and the wire dialect.

/// Which spelling of the names X renamed in spec 2.167 to send.
///
/// Decoding always accepts both spellings; this only chooses what requests say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// `tweet.fields`, `referenced_tweets.id`: what the docs use and the live API is known to
    /// accept. The default.
    #[default]
    Legacy,
    /// `post.fields`, `referenced_posts`: the names of spec 2.167.
    Post,
}
