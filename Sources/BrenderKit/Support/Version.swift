/// brender's version, reported by `--version`, `/health` and worker registration.
public enum BrenderVersion {
    public static let current = "0.2.0"
}
