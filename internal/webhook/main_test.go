package webhook

import (
	"testing"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
)

func TestMain(m *testing.M) { localenv.Main(m) }
