//! A framed CSTA connection: whole frames in, whole messages out.

use bytes::BytesMut;
use csta::{Edition, Frame, FrameCodec, Framing, InvokeId, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::LinkFailure;

/// A byte stream to the PBX: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub struct Connection {
    stream: Box<dyn Io>,
    codec: FrameCodec,
    input: BytesMut,
    output: BytesMut,
    edition: Edition,
    text: String,
    lease: crate::link::Lease,
}

impl Connection {
    pub fn new(
        stream: Box<dyn Io>,
        framing: Framing,
        edition: Edition,
        lease: crate::link::Lease,
    ) -> Connection {
        Connection {
            lease,
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

    /// The next frame. Cancel-safe: bytes already read stay buffered. Fails with
    /// [`LinkFailure::PbxClosed`], [`LinkFailure::Read`] or [`LinkFailure::BrokenFrame`]
    /// (a bad header: the byte stream is no longer in step, the link must reconnect).
    pub async fn read_frame(&mut self) -> Result<Frame, LinkFailure> {
        loop {
            match self.codec.decode(&mut self.input) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(error) => return Err(LinkFailure::BrokenFrame(error)),
            }
            let read = self
                .stream
                .read_buf(&mut self.input)
                .await
                .map_err(LinkFailure::Read)?;
            if read == 0 {
                return Err(LinkFailure::PbxClosed);
            }
        }
    }

    /// Writes one message under `invoke_id` (ignored by the NUL framing).
    /// Nothing is written once this node's lease lapsed.
    pub async fn send(&mut self, invoke_id: InvokeId, message: &Message) -> std::io::Result<()> {
        if !self.lease.valid() {
            return Err(std::io::Error::other(LinkFailure::LeaseLapsed.to_string()));
        }
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
