package audio

// decodeRaw decodes headerless audio: s16le (width 2) or G.711 (width 1) with the declared
// rate (defaultRate when none is declared; 0 means a rate must be declared) and channel count
// (default 1).
func decodeRaw(data []byte, opt Options, what string, defaultRate, width int) (*frames, error) {
	if isWAV(data) {
		return nil, fail(ErrNotAudio, "%s: the input starts with a RIFF/WAVE header; decode it as wav (or auto)", what)
	}
	rate := opt.SampleRate
	if rate == 0 {
		rate = defaultRate
	}
	channels := opt.Channels
	if channels == 0 {
		channels = 1
	}
	if channels < 0 || channels > MaxChannels {
		return nil, fail(ErrNotAudio, "%s: declared channel count %d is outside 1..%d", what, channels, MaxChannels)
	}
	n := len(data) / (width * channels)
	if err := checkLayout(what, rate, channels, opt, n); err != nil {
		return nil, err
	}
	e := encS16
	switch opt.Format {
	case FormatMulaw:
		e = encMulaw
	case FormatAlaw:
		e = encAlaw
	}
	return &frames{what: what, rate: rate, channels: channels, mono: toMono(data, e, width, channels, opt.Channel)}, nil
}
