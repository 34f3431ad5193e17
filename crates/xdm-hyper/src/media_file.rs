//! Media files on disk, checked when opened and read a chunk at a time on tokio's blocking
//! pool while they are uploaded.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use xdm_client::{ChunkFuture, Error, MediaReader, MediaSource};
use xdm_core::InvalidInput;
use xdm_core::upload::MediaType;

/// A media file to upload, opened and checked before a byte of it is read, then read one
/// chunk at a time as the upload asks for it.
///
/// Every file operation (the open, the checks, each read) runs on tokio's blocking pool
/// (`spawn_blocking`), never on the executor's threads, so a slow disk or a network share
/// does not stall other tasks; [`open`](Self::open) must therefore be called within a tokio
/// runtime. Memory holds one chunk (4 MiB by default) whatever the file's size.
///
/// The file must be a regular file (a directory, a FIFO or a device such as `/dev/zero` is
/// refused, through a symbolic link too: what is checked is the opened handle, which is what
/// will be read) no larger than its type's category allows. Its size is taken when it is
/// opened and announced to X; a file that changes size or is modified while it is uploaded
/// fails the upload at the next chunk, before it is finalized, rather than send a mix of two
/// files. The chunks are read from the handle opened here, so a file replaced on disk in the
/// meantime is not what gets uploaded.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use xdm_client::Recipient;
/// use xdm_hyper::MediaFile;
///
/// let client = xdm_hyper::from_env()?;
/// let photo = MediaFile::open("holiday.jpg").await?;
/// let to = Recipient::Participant("2244994945".parse()?);
/// client.send_with_media(to, Some("Look!".to_owned()), photo).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MediaFile {
    path: PathBuf,
    media_type: MediaType,
    size: u64,
    /// Shared by the blocking tasks that read it, one at a time.
    file: Arc<Mutex<File>>,
    /// When the file was last modified as it was opened, where the system tells.
    modified: Option<SystemTime>,
}

impl MediaFile {
    /// Opens the file at `path`, with its type taken from the extension: `jpg`, `jpeg`,
    /// `png`, `webp`, `bmp`, `tif`, `tiff`, `gif`, `mp4`, `mov` (in any case).
    ///
    /// An unknown extension, a file that is not a regular file, or one too large for its
    /// category is [`Error::InvalidInput`]; a file that cannot be opened is [`Error::File`].
    pub async fn open(path: impl AsRef<Path>) -> Result<MediaFile, Error> {
        let path = path.as_ref();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let Some(media_type) = MediaType::from_extension(extension) else {
            return Err(Error::InvalidInput(InvalidInput::new(
                "media_path",
                format!("cannot tell the media type of {}", path.display()),
                format!("a file ending in {}", MediaType::EXTENSIONS),
            )));
        };
        Self::open_as(path, media_type).await
    }

    /// Opens the file at `path` as media of type `media_type`, whatever its name; checked as
    /// [`open`](Self::open) checks.
    pub async fn open_as(
        path: impl AsRef<Path>,
        media_type: MediaType,
    ) -> Result<MediaFile, Error> {
        let path = path.as_ref().to_owned();
        let name = path.clone();
        blocking(&name, move || open_checked(path, media_type)).await
    }

    /// The path the file was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The media type.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// The size in bytes, as it was when the file was opened.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether the file was empty when it was opened (which X refuses).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Reads `len` bytes at `offset`, on the calling thread.
    fn read_blocking(&self, offset: u64, len: usize) -> Result<Bytes, Error> {
        let within = offset
            .checked_add(len as u64)
            .is_some_and(|end| end <= self.size);
        if !within {
            return Err(Error::InvalidInput(InvalidInput::new(
                "chunk",
                format!(
                    "{len} bytes from {offset} reach beyond the {} bytes of {}",
                    self.size,
                    self.path.display()
                ),
                "a range within the file",
            )));
        }
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| self.file_error(e))?;
        let mut chunk = vec![0; len];
        let read = file.read_exact(&mut chunk);
        // Checked after the read, so that a chunk is handed out only when the file still
        // looked as it did when opened once the chunk was in hand.
        let metadata = file.metadata().map_err(|e| self.file_error(e))?;
        if metadata.len() != self.size {
            return Err(self.file_error(io::Error::other(format!(
                "it changed size while it was uploaded, from {} to {} bytes; the upload was \
                 stopped before it was finalized",
                self.size,
                metadata.len()
            ))));
        }
        if self.modified.is_some() && metadata.modified().ok() != self.modified {
            return Err(self.file_error(io::Error::other(
                "it was modified while it was uploaded; the upload was stopped before it was \
                 finalized",
            )));
        }
        read.map_err(|e| self.file_error(e))?;
        Ok(Bytes::from(chunk))
    }

    fn file_error(&self, source: io::Error) -> Error {
        Error::File {
            path: self.path.clone(),
            source,
        }
    }
}

impl MediaReader for MediaFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_chunk(&self, offset: u64, len: usize) -> ChunkFuture<'_> {
        let file = self.clone();
        Box::pin(async move { blocking(&self.path, move || file.read_blocking(offset, len)).await })
    }
}

impl From<MediaFile> for MediaSource {
    fn from(file: MediaFile) -> MediaSource {
        let media_type = file.media_type;
        MediaSource::from_reader(file, media_type)
    }
}

/// Opens and checks the file, on the calling thread.
fn open_checked(path: PathBuf, media_type: MediaType) -> Result<MediaFile, Error> {
    let file_error = |source| Error::File {
        path: path.clone(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading waits for a writer; with this flag the open returns at
        // once and the check below refuses it. A regular file's reads ignore the flag.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(&path).map_err(file_error)?;
    // The metadata of the opened handle, not of the path: what is checked is what will be
    // read, even if the path is swapped meanwhile.
    let metadata = file.metadata().map_err(file_error)?;
    if !metadata.is_file() {
        return Err(Error::InvalidInput(InvalidInput::new(
            "media",
            format!(
                "{} is not a regular file (a device, a pipe or a directory)",
                path.display()
            ),
            "a regular file",
        )));
    }
    let size = metadata.len();
    let category = media_type.dm_category();
    if size > category.max_bytes() {
        return Err(Error::InvalidInput(InvalidInput::new(
            "media",
            format!(
                "{} ({size} bytes) is too large for {category}",
                path.display()
            ),
            format!("at most {} bytes", category.max_bytes()),
        )));
    }
    Ok(MediaFile {
        media_type,
        size,
        file: Arc::new(Mutex::new(file)),
        modified: metadata.modified().ok(),
        path,
    })
}

/// Runs file work on tokio's blocking pool. A task that ends without an answer (it panicked,
/// or the runtime shut down before it ran) is an error about the file it was working on.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(Error::File {
            path: path.to_owned(),
            source: io::Error::other(format!("the read did not finish: {e}")),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn refusal(path: &Path) -> String {
        match MediaFile::open(path).await {
            Err(Error::InvalidInput(e)) => e.to_string(),
            other => panic!("{}: {other:?}", path.display()),
        }
    }

    #[tokio::test]
    async fn a_file_is_checked_before_a_byte_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("folder.png");
        std::fs::create_dir(&folder).unwrap();
        assert!(refusal(&folder).await.contains("not a regular file"));
        let huge = dir.path().join("huge.png");
        File::create(&huge).unwrap().set_len(6 << 20).unwrap();
        assert!(refusal(&huge).await.contains("too large for dm_image"));
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, b"hello").unwrap();
        let says = refusal(&notes).await;
        assert!(says.contains("cannot tell the media type"), "{says}");
        assert!(says.contains(".mov"), "{says}");
        match MediaFile::open(dir.path().join("missing.jpg")).await {
            Err(e @ Error::File { .. }) => assert!(e.to_string().contains("missing.jpg"), "{e}"),
            other => panic!("{other:?}"),
        }
        #[cfg(unix)]
        {
            let zero = dir.path().join("zero.gif");
            std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
            assert!(refusal(&zero).await.contains("not a regular file"));
            let fifo = dir.path().join("pipe.mp4");
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(made.success());
            // Refused at once, not waiting for a writer that never comes.
            assert!(refusal(&fifo).await.contains("not a regular file"));
        }
    }

    #[tokio::test]
    async fn a_file_is_read_a_chunk_at_a_time_as_it_was_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.MP4");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = MediaFile::open(&path).await.unwrap();
        assert_eq!((file.len(), file.is_empty()), (10, false));
        assert_eq!(file.media_type(), MediaType::Mp4);
        assert_eq!(file.path(), path);
        assert_eq!(&file.read_chunk(4, 3).await.unwrap()[..], b"456");
        assert_eq!(&file.read_chunk(7, 3).await.unwrap()[..], b"789");
        let beyond = file.read_chunk(8, 3).await.unwrap_err();
        assert!(beyond.to_string().contains("reach beyond"), "{beyond}");
        let source = MediaSource::from(file.clone());
        assert_eq!(source.len(), 10);
        assert!(format!("{source:?}").contains("clip.MP4"));
        // Replaced on disk: the open handle still reads the file that was checked.
        let moved = dir.path().join("moved.mp4");
        std::fs::rename(&path, &moved).unwrap();
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(&file.read_chunk(0, 2).await.unwrap()[..], b"01");
        let typed = MediaFile::open_as(&path, MediaType::Gif).await.unwrap();
        assert_eq!((typed.media_type(), typed.len()), (MediaType::Gif, 3));
    }

    #[tokio::test]
    async fn a_file_that_changes_while_it_is_uploaded_fails_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = MediaFile::open(&path).await.unwrap();
        let on_disk = std::fs::OpenOptions::new().write(true).open(&path).unwrap();

        on_disk.set_len(5).unwrap();
        let shorter = file.read_chunk(0, 3).await.unwrap_err();
        assert!(
            shorter.to_string().contains("from 10 to 5 bytes"),
            "{shorter}"
        );
        // Where the chunk itself is cut short, it is the change that is reported.
        let cut = file.read_chunk(4, 3).await.unwrap_err();
        assert!(cut.to_string().contains("changed size"), "{cut}");

        on_disk.set_len(12).unwrap();
        let longer = file.read_chunk(0, 3).await.unwrap_err();
        assert!(
            longer.to_string().contains("from 10 to 12 bytes"),
            "{longer}"
        );
        assert!(matches!(longer, Error::File { .. }), "{longer:?}");

        on_disk.set_len(10).unwrap();
        let then = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        on_disk.set_modified(then).unwrap();
        let modified = file.read_chunk(0, 3).await.unwrap_err();
        assert!(modified.to_string().contains("was modified"), "{modified}");
    }

    #[tokio::test]
    async fn a_read_that_fails_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.png");
        // A handle that cannot read: the system refuses the read itself.
        let unreadable = File::create(&path).unwrap();
        unreadable.set_len(10).unwrap();
        let metadata = unreadable.metadata().unwrap();
        let file = MediaFile {
            path: path.clone(),
            media_type: MediaType::Png,
            size: 10,
            file: Arc::new(Mutex::new(unreadable)),
            modified: metadata.modified().ok(),
        };
        let e = file.read_chunk(0, 4).await.unwrap_err();
        match &e {
            Error::File { path: named, .. } => assert_eq!(named, &path),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("photo.png"), "{e}");
    }

    #[tokio::test]
    async fn work_that_ends_without_an_answer_is_an_error() {
        let e = blocking::<()>(Path::new("clip.mp4"), || panic!("the disk caught fire"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("did not finish"), "{e}");
        assert!(e.to_string().contains("clip.mp4"), "{e}");
    }
}
