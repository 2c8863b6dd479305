public class Config {
    private static final String DB_PASSWORD = "JavaDbPass#77";
    String url = "jdbc:mysql://root:JdbcPass55@localhost/db";

    void build(Builder builder) {
        builder.password("JavaSecret99");
    }
}
