//! A framed CSTA connection: whole frames in, whole messages out.

use bytes::BytesMut;
use csta::{Edition, Frame, FrameCodec, FrameError, Framing, InvokeId, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A byte stream to the PBX: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError {
    Closed,
    Io(std::io::Error),
    /// The byte stream is no longer in step (bad header): the link must reconnect.
    Framing(FrameError),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => f.write_str("the PBX closed the connection"),
            ReadError::Io(e) => write!(f, "reading from the PBX: {e}"),
            ReadError::Framing(e) => write!(f, "the PBX sent a broken frame: {e}"),
        }
    }
}

pub struct Connection {
    stream: Box<dyn Io>,
    codec: FrameCodec,
    input: BytesMut,
    output: BytesMut,
    edition: Edition,
    text: String,
}

impl Connection {
    pub fn new(stream: Box<dyn Io>, framing: Framing, edition: Edition) -> Connection {
        Connection {
            stream,
            codec: FrameCodec::new(framing),
            input: BytesMut::with_capacity(16 * 1024),
            output: BytesMut::with_capacity(4 * 1024),
            edition,
            text: String::with_capacity(1024),
        }
    }

    pub fn framing(&self) -> Framing {
        self.codec.framing()
    }

    /// The next frame. Cancel-safe: bytes already read stay buffered.
    pub async fn read_frame(&mut self) -> Result<Frame, ReadError> {
        loop {
            match self.codec.decode(&mut self.input) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(error) => return Err(ReadError::Framing(error)),
            }
            let read = self
                .stream
                .read_buf(&mut self.input)
                .await
                .map_err(ReadError::Io)?;
            if read == 0 {
                return Err(ReadError::Closed);
            }
        }
    }

    /// Writes one message under `invoke_id` (ignored by the NUL framing).
    pub async fn send(&mut self, invoke_id: InvokeId, message: &Message) -> std::io::Result<()> {
        self.text.clear();
        csta::encode_into(message, self.edition, &mut self.text);
        let frame = Frame::new(Some(invoke_id), self.text.as_bytes().to_vec());
        self.output.clear();
        self.codec
            .encode(frame, &mut self.output)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        self.stream.write_all(&self.output).await
    }
}
