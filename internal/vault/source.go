package vault

// KeySource gives a Vault its keyring.
type KeySource interface {
	// Keyring returns the keyring to start with.
	Keyring() (*Keyring, error)
	// Reload reads the keys again, for when another process may have added
	// a version (kassa keys rotate). On error the caller keeps the keyring
	// it has.
	Reload() (*Keyring, error)
}

// FileSource reads the keyring from a key file (see LoadKeyFile) every time
// it is asked; the Vault holds the result.
type FileSource struct {
	path string
}

var _ KeySource = (*FileSource)(nil)

// NewFileSource returns a source that reads the key file at path.
func NewFileSource(path string) *FileSource { return &FileSource{path: path} }

// Path returns the key file's path.
func (s *FileSource) Path() string { return s.path }

// Keyring reads the key file.
func (s *FileSource) Keyring() (*Keyring, error) { return LoadKeyFile(s.path) }

// Reload reads the key file again.
func (s *FileSource) Reload() (*Keyring, error) { return LoadKeyFile(s.path) }

// StaticSource is a keyring given once, as the text of KASSA_MASTER_KEY.
// Reloading it changes nothing: a new version needs a restart with the new
// text.
type StaticSource struct {
	ring *Keyring
}

var _ KeySource = (*StaticSource)(nil)

// NewStaticSource parses text (see ParseKeyring).
func NewStaticSource(text string) (*StaticSource, error) {
	k, err := ParseKeyring(text)
	if err != nil {
		return nil, err
	}
	return &StaticSource{ring: k}, nil
}

// Keyring returns the parsed keyring.
func (s *StaticSource) Keyring() (*Keyring, error) { return s.ring, nil }

// Reload returns the same keyring.
func (s *StaticSource) Reload() (*Keyring, error) { return s.ring, nil }
