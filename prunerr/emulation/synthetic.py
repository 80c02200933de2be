"""A deterministic synthetic media library: the ground truth every emulator serves.

One seeded generator makes movies, shows (with seasons and episodes), users, plays and requests with
consistent identities across services: a title has the same tmdb/tvdb/imdb ids, Plex ratingKeys,
Radarr/Sonarr ids, Tautulli history and Seerr requests everywhere. Some titles are not managed by
an *arr, some shows are partly watched, and the distributions of sizes, resolutions, codecs,
ratings, add dates and watch patterns are realistic enough for rules to match a sensible share.

Real servers are untidy, and so is this library (`_quirks`, from a random stream of its own, so
the rest of the library does not depend on it): a share of titles matched by Plex's legacy agents
or HAMA (a `guid` naming one id, no `Guid` list), movies listed without their file, movies in
several parts, items without `updatedAt`, Plex ratings from Rotten Tomatoes, IMDb or TMDb, and
episodes unmonitored in a monitored season. Every library has at least one of each.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from prunerr.dsl.units import DAY

NOW = 1_780_000_000  # the default "now" of a generated library: 2026-05-28T20:26:40Z

# Presets: (movies, shows, target episodes, target history rows, users)
SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "XS": (60, 8, 200, 1_500, 5),
    "S": (1_000, 100, 4_000, 20_000, 10),
    "M": (10_000, 1_000, 40_000, 200_000, 25),
    "L": (20_000, 3_000, 150_000, 1_000_000, 50),
}

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Mystery",
    "Romance",
    "Science Fiction",
    "Thriller",
    "War",
    "Western",
)
STUDIOS = (
    "Warner Bros.",
    "Universal Pictures",
    "Paramount",
    "A24",
    "Studio Ghibli",
    "Lionsgate",
    "Columbia Pictures",
    "20th Century Studios",
    "Blumhouse",
    "Neon",
)
NETWORKS = ("HBO", "Netflix", "BBC One", "AMC", "FX", "Apple TV+", "Prime Video", "NBC", "ABC")
LANGUAGES = ("English",) * 8 + ("French", "Japanese", "Korean", "Spanish", "German")
MOVIE_RATINGS = ("G", "PG", "PG-13", "R", "NC-17")
TV_RATINGS = ("TV-Y", "TV-G", "TV-PG", "TV-14", "TV-MA")
WORDS = (
    "Silent",
    "Crimson",
    "Last",
    "Hidden",
    "Broken",
    "Golden",
    "Midnight",
    "Lost",
    "Iron",
    "Distant",
    "Burning",
    "Frozen",
    "Wild",
    "Hollow",
    "Electric",
    "Paper",
    "Glass",
    "Shadow",
    "River",
    "Empire",
    "Garden",
    "Signal",
    "Harbor",
    "Orchard",
    "Circuit",
    "Lantern",
    "Echo",
    "Summit",
    "Meridian",
    "Quarry",
    "Atlas",
    "Cinder",
    "Velvet",
    "Tundra",
    "Monsoon",
)
FIRST_NAMES = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "ursula",
    "victor",
    "wendy",
    "xavier",
    "yolanda",
    "zed",
    "amir",
    "bea",
)

# resolution -> (share of movies, height, median GB, codec choices)
MOVIE_QUALITY = (
    ("480p", 0.04, 480, 1.2, ("mpeg4", "h264", "mpeg2video")),
    ("576p", 0.02, 576, 1.8, ("h264", "mpeg2video", "vc1")),
    ("720p", 0.16, 720, 4.0, ("h264", "h264", "hevc")),
    ("1080p", 0.58, 1080, 10.0, ("h264", "h264", "hevc", "vc1")),
    ("2160p", 0.20, 2160, 45.0, ("hevc", "hevc", "av1")),
)
AUDIO = ("aac", "ac3", "eac3", "dts", "truehd", "flac")


@dataclass(slots=True)
class User:
    id: int  # Plex account id; the owner is 1
    username: str
    email: str
    seerr_id: int


@dataclass(slots=True)
class MediaInfo:
    """The main file of a movie or an episode."""

    path: str
    size: int
    resolution: str
    height: int
    video_codec: str
    audio_codec: str
    hdr: str
    bitrate_kbps: int
    runtime_s: int


@dataclass(slots=True)
class Movie:
    index: int
    title: str
    year: int
    tmdb_id: int
    imdb_id: str
    rating_key: int
    added: int
    file: MediaInfo
    genres: tuple[str, ...]
    studio: str
    content_rating: str
    original_language: str
    rating_imdb: float | None
    rating_tmdb: float | None
    rating_rt: int | None
    radarr_id: int | None  # None: not managed by Radarr
    monitored: bool
    tags: tuple[str, ...]  # Radarr tag labels
    labels: tuple[str, ...]  # Plex labels
    collection: str | None
    # how Plex knows it (see `_quirks`)
    agent: str = "plex"  # plex (Guid list) | imdb | themoviedb (legacy guid) | local (none)
    parts: int = 1  # files Plex lists for it (a movie split in parts)
    listed_file: bool = True  # False: Plex lists it without its Media
    stamped: bool = True  # False: Plex gives no updatedAt
    plex_ratings: str = "rottentomatoes"  # the source of Plex's ratings: or imdb, themoviedb
    rating_rt_audience: int | None = None  # Rotten Tomatoes audience score, 0-100


@dataclass(slots=True)
class Episode:
    number: int
    title: str
    rating_key: int
    sonarr_id: int | None
    file_id: int | None
    air_date: int
    added: int
    monitored: bool
    file: MediaInfo
    stamped: bool = True  # False: Plex gives no updatedAt


@dataclass(slots=True)
class Season:
    number: int
    rating_key: int
    monitored: bool
    episodes: list[Episode] = field(default_factory=list)


@dataclass(slots=True)
class Show:
    index: int
    title: str
    year: int
    tvdb_id: int
    tmdb_id: int
    imdb_id: str
    rating_key: int
    added: int
    status: str  # continuing | ended | upcoming
    network: str
    genres: tuple[str, ...]
    content_rating: str
    original_language: str
    rating: float | None
    sonarr_id: int | None
    monitored: bool
    tags: tuple[str, ...]
    labels: tuple[str, ...]
    seasons: list[Season] = field(default_factory=list)
    # how Plex knows it: plex (Guid list), thetvdb or themoviedb (legacy guid), hama-tvdb or
    # hama-anidb (HAMA's guid); seasons and episodes are named by their show's guid
    agent: str = "plex"
    anidb_id: int | None = None

    @property
    def episodes(self):
        for season in self.seasons:
            yield from season.episodes


@dataclass(slots=True)
class Play:
    """One history row: a user played a movie or an episode."""

    id: int
    user_id: int
    rating_key: int  # the movie or episode
    parent_rating_key: int | None  # season
    grandparent_rating_key: int | None  # show
    started: int
    stopped: int
    percent_complete: int

    @property
    def watched(self) -> bool:
        """Completed. Unfinished plays stop at 80% at most, so Tautulli's default threshold
        (85%) and Plex's (90% counts a view) agree on every play."""
        return self.percent_complete >= 85


@dataclass(slots=True)
class Request:
    id: int
    media_id: int  # the Seerr media id
    media_type: str  # movie | tv
    tmdb_id: int
    tvdb_id: int | None
    user_id: int  # Plex account id of the requester
    created: int
    status: int  # 1 pending, 2 approved, 3 declined


@dataclass
class SyntheticLibrary:
    seed: int
    now: int
    users: list[User]
    movies: list[Movie]
    shows: list[Show]
    plays: list[Play]
    requests: list[Request]
    tags: dict[int, str]  # *arr tag id -> label, shared by Radarr and Sonarr
    collections: dict[str, int]  # collection title -> tmdb id

    @property
    def episode_count(self) -> int:
        return sum(len(s.episodes) for show in self.shows for s in show.seasons)

    def user(self, account_id: int) -> User:
        return self._users_by_id[account_id]

    def __post_init__(self) -> None:
        self._users_by_id = {u.id: u for u in self.users}


def _title(rnd: random.Random, used: set[str]) -> str:
    while True:
        n = rnd.choice((1, 2, 2, 3))
        title = " ".join(rnd.choice(WORDS) for _ in range(n))
        if rnd.random() < 0.3:
            title = "The " + title
        if title not in used:
            used.add(title)
            return title
        title = f"{title} {rnd.randint(2, 9)}"
        if title not in used:
            used.add(title)
            return title


def _media_file(rnd: random.Random, path: str, runtime_s: int, quality=None) -> MediaInfo:
    resolution, _, height, median_gb, codecs = (
        quality or rnd.choices(MOVIE_QUALITY, weights=[q[1] for q in MOVIE_QUALITY])[0]
    )
    size = int(rnd.lognormvariate(0, 0.35) * median_gb * 1e9 * runtime_s / 7200)
    hdr = "none"
    if height == 2160:
        hdr = rnd.choices(("none", "hdr10", "hdr10+", "dolby_vision", "hlg"), (3, 4, 1, 3, 0.3))[0]
    bitrate = max(300, int(size * 8 / max(runtime_s, 1) / 1000))
    return MediaInfo(
        path,
        size,
        resolution,
        height,
        rnd.choice(codecs),
        rnd.choice(AUDIO),
        hdr,
        bitrate,
        runtime_s,
    )


def generate(
    size: str = "S",
    seed: int = 1,
    *,
    now: int = NOW,
    counts: tuple[int, int, int, int, int] | None = None,
) -> SyntheticLibrary:
    """Build a library from a preset (`XS`, `S`, `M`, `L`) or explicit
    `counts=(movies, shows, episodes, history rows, users)`; the same arguments give the same
    library."""
    n_movies, n_shows, n_episodes, n_plays, n_users = counts or SIZES[size]
    rnd = random.Random(seed)
    keys = iter(range(1000, 10**9))  # Plex ratingKeys, shared by every kind of item
    used_titles: set[str] = set()

    users = [User(1, "owner", "owner@example.com", 1)]
    for i in range(1, n_users):
        name = FIRST_NAMES[i % len(FIRST_NAMES)] + ("" if i < len(FIRST_NAMES) else str(i))
        users.append(User(1000 + i, name, f"{name}@example.com", i + 1))

    tags = {1: "keep", 2: "kids", 3: "4k", 4: "anime", 5: "requested"}
    collections: dict[str, int] = {}
    movies: list[Movie] = []
    radarr_ids = iter(range(1, 10**9))
    for i in range(n_movies):
        title = _title(rnd, used_titles)
        year = rnd.randint(1950, 2025)
        runtime = int(rnd.gauss(110, 18)) * 60
        file = _media_file(
            rnd, f"/movies/{title} ({year})/{title} ({year}).mkv", max(runtime, 3600)
        )
        managed = rnd.random() > 0.05
        collection = None
        if rnd.random() < 0.08:
            collection = f"{title.split()[-1]} Collection"
            collections.setdefault(collection, 100_000 + len(collections))
        movies.append(
            Movie(
                index=i,
                title=title,
                year=year,
                tmdb_id=10_000 + i,
                imdb_id=f"tt{1_000_000 + i:07d}",
                rating_key=next(keys),
                added=now - int(rnd.uniform(1, 6 * 365)) * DAY,
                file=file,
                genres=tuple(rnd.sample(GENRES, rnd.randint(1, 3))),
                studio=rnd.choice(STUDIOS),
                content_rating=rnd.choice(MOVIE_RATINGS),
                original_language=rnd.choice(LANGUAGES),
                rating_imdb=round(min(9.6, max(1.5, rnd.gauss(6.4, 1.1))), 1)
                if rnd.random() > 0.04
                else None,
                rating_tmdb=round(min(9.5, max(1.0, rnd.gauss(6.5, 1.0))), 1)
                if rnd.random() > 0.03
                else None,
                rating_rt=int(min(100, max(0, rnd.gauss(62, 22)))) if rnd.random() > 0.25 else None,
                radarr_id=next(radarr_ids) if managed else None,
                monitored=managed and rnd.random() > 0.1,
                tags=tuple(sorted(rnd.sample(list(tags.values()), 1)))
                if rnd.random() < 0.12
                else (),
                labels=("keep",) if rnd.random() < 0.03 else (),
                collection=collection,
            )
        )

    shows: list[Show] = []
    sonarr_ids, episode_ids, file_ids = (iter(range(1, 10**9)) for _ in range(3))
    per_show = max(1, n_episodes // max(n_shows, 1))
    for i in range(n_shows):
        title = _title(rnd, used_titles)
        year = rnd.randint(1990, 2025)
        managed = rnd.random() > 0.05
        status = rnd.choices(("continuing", "ended", "upcoming"), (45, 50, 5))[0]
        show = Show(
            index=i,
            title=title,
            year=year,
            tvdb_id=300_000 + i,
            tmdb_id=500_000 + i,
            imdb_id=f"tt{5_000_000 + i:07d}",
            rating_key=next(keys),
            added=now - int(rnd.uniform(1, 6 * 365)) * DAY,
            status=status,
            network=rnd.choice(NETWORKS),
            genres=tuple(rnd.sample(GENRES, rnd.randint(1, 3))),
            content_rating=rnd.choice(TV_RATINGS),
            original_language=rnd.choice(LANGUAGES),
            rating=round(min(9.7, max(2.0, rnd.gauss(7.2, 0.9))), 1)
            if rnd.random() > 0.05
            else None,
            sonarr_id=next(sonarr_ids) if managed else None,
            monitored=managed and rnd.random() > 0.1,
            tags=("kids",) if rnd.random() < 0.08 else (),
            labels=("keep",) if rnd.random() < 0.03 else (),
        )
        target = max(1, int(rnd.uniform(0.3, 1.7) * per_show))
        quality = rnd.choices(MOVIE_QUALITY[2:], weights=(2, 6, 1))[0]
        season_number = 0 if rnd.random() < 0.1 else 1
        while target > 0:
            count = min(target, rnd.randint(6, 22))
            season = Season(season_number, next(keys), managed and rnd.random() > 0.15)
            # every episode of the season has aired (and has a file) by `now`
            air = now - int(rnd.uniform(30, 3000)) * DAY - count * 7 * DAY
            for e in range(1, count + 1):
                runtime = rnd.choice((22, 25, 30, 42, 45, 55, 60)) * 60
                code = f"S{season_number:02d}E{e:02d}"
                path = f"/tv/{title}/Season {season_number:02d}/{title} {code}.mkv"
                season.episodes.append(
                    Episode(
                        number=e,
                        title=f"{rnd.choice(WORDS)} {rnd.choice(WORDS)}",
                        rating_key=next(keys),
                        sonarr_id=next(episode_ids) if managed else None,
                        file_id=next(file_ids) if managed else None,
                        air_date=air + e * 7 * DAY,
                        added=max(show.added, air + e * 7 * DAY),
                        monitored=season.monitored,
                        file=_media_file(rnd, path, runtime, quality),
                    )
                )
            show.seasons.append(season)
            target -= count
            season_number += 1
        shows.append(show)

    plays = _plays(rnd, random.Random(f"binges-{seed}"), users, movies, shows, n_plays, now)
    requests = _requests(rnd, users, movies, shows, now)
    _quirks(random.Random(f"quirks-{seed}"), movies, shows)
    return SyntheticLibrary(seed, now, users, movies, shows, plays, requests, tags, collections)


# quirk -> share of the titles (at least one of each in any library): movies, then shows
MOVIE_QUIRKS = (
    ("agent", "imdb", 0.05),
    ("agent", "themoviedb", 0.02),
    ("agent", "local", 0.01),
    ("listed_file", False, 0.02),
    ("parts", 2, 0.03),
    ("stamped", False, 0.03),
    ("plex_ratings", "imdb", 0.3),
    ("plex_ratings", "themoviedb", 0.2),
)
SHOW_AGENTS = (("thetvdb", 0.1), ("themoviedb", 0.03), ("hama-tvdb", 0.03), ("hama-anidb", 0.03))
UNSTAMPED_EPISODES = 0.15
UNMONITORED_EPISODES = 0.05  # of the episodes of monitored seasons: unmonitored one by one


def _picked(rnd: random.Random, items: list, share: float) -> list:
    return rnd.sample(items, min(len(items), max(1, round(share * len(items)))))


def _quirks(rnd: random.Random, movies: list[Movie], shows: list[Show]) -> None:
    """Make some titles untidy the way real servers are (each quirk picks its own titles)."""
    for movie in movies:
        if movie.rating_rt is not None:
            movie.rating_rt_audience = int(min(100, max(0, rnd.gauss(70, 18))))
    for name, value, share in MOVIE_QUIRKS:
        for movie in _picked(rnd, movies, share):
            setattr(movie, name, value)
    if not shows:
        return
    plain = list(shows)
    for agent, share in SHOW_AGENTS:
        for show in _picked(rnd, plain, share):
            show.agent = agent
            plain.remove(show)
            if agent == "hama-anidb":
                show.anidb_id = 10_000 + show.index
        if len(plain) < 2:
            break
    episodes = [e for show in shows for e in show.episodes]
    for episode in _picked(rnd, episodes, UNSTAMPED_EPISODES):
        episode.stamped = False
    monitored = [e for show in shows for s in show.seasons if s.monitored for e in s.episodes]
    if monitored:
        for episode in _picked(rnd, monitored, UNMONITORED_EPISODES):
            episode.monitored = False


# a viewer of a show follows it (watches each episode soon after it arrives) or catches up
# (starts at any time since it arrived and watches on in order)
FOLLOWING = 0.8
FOLLOW_DELAY = 30.0  # mean days from an episode's arrival to a follower watching it
CATCH_UP_GAP = (0.1, 2.0)  # days between episodes when catching up


def _plays(rnd, binges, users, movies, shows, n_plays, now) -> list[Play]:
    """History rows: most titles are never watched; watched ones attract several users. Shows
    are watched in order and often abandoned part way, most viewers following them as episodes
    arrive, a few catching up later: seasons of long-running series are watched around when they
    aired, and some not again for a long time. When episodes are watched comes from a stream of
    its own (`binges`), so what is watched, by whom, is as before it was added."""
    plays: list[Play] = []
    watched_movies = [m for m in movies if rnd.random() < 0.55]
    watched_shows = [s for s in shows if rnd.random() < 0.7]
    weights = [1 / (i + 1) ** 0.7 for i in range(len(users))]  # a few heavy viewers
    movie_share = 0.35 if watched_shows else 1.0
    ids = iter(range(1, 10**9))

    def add(user: User, rating_key, parent, grandparent, runtime, earliest, at=None):
        # every play has ended by `now`; it started at `at` if that is early enough, else at any
        # time since `earliest`
        complete = 100 if rnd.random() < 0.8 else rnd.randint(5, 80)
        watched_for = int(runtime * complete / 100)
        latest = now - watched_for
        started = int(rnd.uniform(min(earliest, latest), latest))
        if at is not None and at <= latest:
            started = int(at)
        stopped = started + watched_for
        plays.append(
            Play(next(ids), user.id, rating_key, parent, grandparent, started, stopped, complete)
        )

    while len(plays) < n_plays and (watched_movies or watched_shows):
        user = rnd.choices(users, weights)[0]
        if watched_movies and (rnd.random() < movie_share or not watched_shows):
            movie = rnd.choice(watched_movies)
            add(user, movie.rating_key, None, None, movie.file.runtime_s, movie.added)
            continue
        show = rnd.choice(watched_shows)
        episodes = [(s, e) for s in show.seasons for e in s.episodes]
        stop = len(episodes) if rnd.random() < 0.4 else rnd.randint(1, len(episodes))
        following = binges.random() < FOLLOWING
        delay = binges.expovariate(1 / FOLLOW_DELAY) * DAY
        at = binges.uniform(min(e.added for _, e in episodes), now)
        for season, episode in episodes[:stop]:
            if following:
                at = episode.added + delay + binges.uniform(0, 7) * DAY
            else:
                at = max(at + binges.uniform(*CATCH_UP_GAP) * DAY, episode.added)
            add(
                user,
                episode.rating_key,
                season.rating_key,
                show.rating_key,
                episode.file.runtime_s,
                episode.added,
                at,
            )
            if len(plays) >= n_plays:
                break
    plays.sort(key=lambda p: p.started)
    for i, play in enumerate(plays, 1):
        play.id = i
    return plays


def _requests(rnd, users, movies, shows, now) -> list[Request]:
    requests = []
    media_ids = iter(range(1, 10**9))
    request_ids = iter(range(1, 10**9))
    for title in [*movies, *shows]:
        if rnd.random() >= 0.25:
            continue
        is_movie = isinstance(title, Movie)
        requests.append(
            Request(
                id=next(request_ids),
                media_id=next(media_ids),
                media_type="movie" if is_movie else "tv",
                tmdb_id=title.tmdb_id,
                tvdb_id=None if is_movie else title.tvdb_id,
                user_id=rnd.choice(users).id,
                created=title.added - int(rnd.uniform(0, 3)) * DAY,
                status=rnd.choices((1, 2, 3), (1, 18, 1))[0],
            )
        )
    return requests
