//! Hand-written, length-checked binary reading and writing.
//!
//! Every format of the crate is built from these pieces, so that decoding
//! never indexes out of bounds and never panics.

use zeroize::Zeroizing;

use crate::{Error, Result};

/// Appends big-endian fields to a buffer that is wiped when dropped.
pub(crate) struct Writer {
    buf: Zeroizing<Vec<u8>>,
}

impl Writer {
    pub(crate) fn new(version: u8) -> Self {
        let mut buf = Zeroizing::new(Vec::with_capacity(256));
        buf.push(version);
        Self { buf }
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// A collection length; collections are bounded far below `u32::MAX`.
    pub(crate) fn len(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub(crate) fn finish(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }
}

/// Reads big-endian fields; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`, checking that the first byte is `version`.
    pub(crate) fn with_version(bytes: &'a [u8], what: &'static str, version: u8) -> Result<Self> {
        let mut r = Self { rest: bytes, what };
        let found = r.u8()?;
        if found != version {
            return Err(Error::UnsupportedVersion {
                what,
                version: found,
            });
        }
        Ok(r)
    }

    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { rest: bytes, what }
    }

    fn short(&self) -> Error {
        Error::Malformed {
            what: self.what,
            why: "it ends too early",
        }
    }

    pub(crate) fn malformed(&self, why: &'static str) -> Error {
        Error::Malformed {
            what: self.what,
            why,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(self.short());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let head = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.malformed("a flag is neither 0 nor 1")),
        }
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A collection length, refused if it exceeds `max`.
    pub(crate) fn len(&mut self, max: usize) -> Result<usize> {
        let n = usize::try_from(self.u32()?).map_err(|_| self.malformed("a count is too large"))?;
        if n > max {
            return Err(self.malformed("a count is too large"));
        }
        Ok(n)
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("it has trailing bytes"))
        }
    }
}
